"""A Flower app for federations of tensorc nodes."""
