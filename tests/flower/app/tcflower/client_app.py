"""A NumPy ClientApp for stock `flower-supernode`s beside tensorc nodes: it answers
`train` with the arrays it was sent and `evaluate` with a constant loss. Flower apps
must name a ClientApp; tensorc nodes never run it."""

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    arrays = msg.content["arrays"]
    metrics = MetricRecord({"num-examples": 1, "train-loss": 0.0})
    return Message(RecordDict({"arrays": ArrayRecord(dict(arrays.items())), "metrics": metrics}), reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    metrics = MetricRecord({"num-examples": 1, "loss": 0.0, "accuracy": 0.0})
    return Message(RecordDict({"metrics": metrics}), reply_to=msg)
