# The `oxbeam` module seen by Python code run with Oxbeam.Python. Installed once, when
# the interpreter is initialized; `_native` is provided by the NIF library.
import ast
import sys
import threading
import traceback

class _Output:
    """sys.stdout / sys.stderr: text goes to the calling process's group leader (or
    the devices given to eval), also from threads the eval started."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, index):
        self._index = index

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not " + type(text).__name__)
        if text:
            _native.write(self._index, text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def readable(self):
        return False

    def fileno(self):
        raise OSError("Oxbeam.Python output has no file descriptor")


class _Input:
    """sys.stdin: there is no input in the BEAM (the error is Pythonx's)."""

    encoding = "utf-8"

    def _fail(self, *args, **kwargs):
        raise RuntimeError("stdin not supported")

    read = readline = readlines = _fail

    def isatty(self):
        return False

    def readable(self):
        return False


_bootstrap_inner = threading.Thread._bootstrap_inner
_start = threading.Thread.start


def _start_with_device(self, *args, **kwargs):
    self._oxbeam_device = _native.current_device()
    return _start(self, *args, **kwargs)


def _bootstrap_with_device(self):
    _native.set_device(getattr(self, "_oxbeam_device", None))
    return _bootstrap_inner(self)


threading.Thread.start = _start_with_device
threading.Thread._bootstrap_inner = _bootstrap_with_device
sys.stdout = _Output(0)
sys.stderr = _Output(1)
sys.stdin = _Input()


# Process-level hazards. Python runs inside the BEAM's OS process: what would change
# that process as a whole is refused (a guard against accidents, not a sandbox: the
# original functions stay reachable through ctypes and the like).

def _refuse_signals(name, module="signal"):
    def refused(*args, **kwargs):
        raise ValueError(
            f"{module}.{name}() is not available in Oxbeam.Python: the BEAM owns this OS "
            "process's signals, and a Python handler or timer would change how the whole "
            "VM reacts to them; handle OS signals in Elixir (:os.set_signal/2)"
        )

    refused.__name__ = refused.__qualname__ = name
    return refused


def _refuse_fork(name):
    def refused(*args, **kwargs):
        raise RuntimeError(
            f"os.{name}() is not available in Oxbeam.Python: the child would be a copy of "
            "the whole BEAM with only this thread, which deadlocks (and holds the VM's "
            "stdout); use subprocess, or multiprocessing (its default start method here "
            "is 'forkserver'; 'spawn' works too)"
        )

    refused.__name__ = refused.__qualname__ = name
    return refused


# `signal` (the Python module) calls _signal.signal at call time and copies the other
# functions when imported: patching _signal covers both, imported or not.
import _signal

for _name in ("signal", "siginterrupt", "alarm", "setitimer"):
    if hasattr(_signal, _name):
        _refused = _refuse_signals(_name)
        setattr(_signal, _name, _refused)
        if _name != "signal" and "signal" in sys.modules:
            setattr(sys.modules["signal"], _name, _refused)

# faulthandler.register installs a C handler for any signal (SIGTERM included) and, by
# default, does not chain to the VM's. (faulthandler.enable, for fatal signals only,
# stays: it prints Python's traceback, then the signal does what it did.)
import faulthandler

faulthandler.register = _refuse_signals("register", "faulthandler")

import os
import posix

for _name in ("fork", "forkpty"):
    if hasattr(posix, _name):
        _refused = _refuse_fork(_name)
        setattr(posix, _name, _refused)
        setattr(os, _name, _refused)

# subprocess forks and execs in C (_posixsubprocess), which is safe. multiprocessing's
# default start method on Linux is 'fork': make it 'forkserver' (the default of Python
# 3.14), whose server and workers run sys.executable — the environment's python, set
# by init — never the VM's executable.
import multiprocessing.context
import multiprocessing.spawn

multiprocessing.spawn.set_executable(sys.executable)
_default = multiprocessing.context._default_context
if "forkserver" in multiprocessing.context._concrete_contexts:
    _default._default_context = multiprocessing.context._concrete_contexts["forkserver"]
else:
    _default._default_context = multiprocessing.context._concrete_contexts["spawn"]
del _name, _refused, _default


def _compile(code):
    """The code objects of `code`: (statements or None, final expression or None).
    The NIF library caches them per snippet."""
    tree = ast.parse(code, "<string>", "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = compile(ast.Expression(tree.body.pop().value), "<string>", "eval")
    statements = compile(tree, "<string>", "exec") if tree.body else None
    return statements, last


def _format_exception(exc, tb):
    # Leave out the frames of this module: the traceback starts in the user's code.
    if tb is None:
        tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals is globals():
        tb = tb.tb_next
    return traceback.format_exception(type(exc), exc, tb)


def send_tagged_object(pid, tag, obj):
    """Sends {tag, %Oxbeam.Python.Object{}} to an Elixir process."""
    _native.send_tagged_object(pid, tag, obj)
