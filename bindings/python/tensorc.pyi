"""Type stubs of the tensorc package: compile .tc programs, call them on NumPy arrays."""

from os import PathLike
from typing import Union

import numpy as np
import numpy.typing as npt

#: An argument: an array (or array-like), a Python number, or a tuple of arguments.
Arg = Union[npt.ArrayLike, bool, int, float, tuple["Arg", ...]]
#: A result: an array, or a tuple of results for a tuple-valued function.
Result = Union[np.ndarray, tuple["Result", ...]]

#: The backends this build can run ("cpu", "interp", "wgpu", ...).
backends: list[str]

class Error(Exception):
    """A failure other than a compile error: a bad argument, an unknown function or backend, a failed run."""

class CompileError(Error):
    """The program does not compile."""

    #: The rendered diagnostics, as the tensorc command prints them.
    diagnostics: str
    #: The diagnostics' codes, e.g. ["E0101"].
    codes: list[str]

class Function:
    """One function of a module."""

    __name__: str
    def __call__(self, *args: Arg, **kwargs: Arg) -> Result: ...
    def donating(self, *names: str) -> Function:
        """This function giving up the arguments of the parameters `names`: each of their
        arrays that is writable, C-contiguous and shares no memory with another argument
        is overwritten by the result paired with it (the first result of its type), and
        returned as that result. Do not read a donated array after the call except as
        the result it became."""

class Module:
    """A compiled program; its functions are attributes."""

    def call(self, name: str, *args: Arg, **kwargs: Arg) -> Result:
        """Call the function `name`; the GIL is released while it compiles and runs."""
    def functions(self) -> list[str]:
        """The names of the program's functions, in source order."""
    def compile_count(self) -> int:
        """How many specialisations have been compiled (one per function and argument types)."""
    def __getattr__(self, name: str) -> Function: ...

def compile(source: str, backend: str = "cpu", name: str = "<source>") -> Module:
    """Compile `source` (named `name` in diagnostics); raises CompileError."""

def compile_file(path: Union[str, PathLike[str]], backend: str = "cpu") -> Module:
    """Compile the program in `path` and the modules it uses; raises CompileError."""
