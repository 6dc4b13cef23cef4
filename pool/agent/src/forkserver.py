# The Python fork server (run as root, `python3 [flags] -c <forkserver_boot.py> <this>`,
# cwd /, by the agent right after a reset's wipe; see fork_server.rs and the README's
# threat analysis). It never runs user code and never sees a run's data: per run the agent
# sends one message "F" on fd 3 (a socketpair only the agent holds) carrying five
# descriptors: the request pipe, the report socket, and the run's stdin, stdout and stderr.
# The server forks the run's child, acknowledges on the report socket ("P<pid>"), waits for
# the child and sends its status and resource use as the kernel gave them (one fork per
# run: a forked waiter in between cost nearly as much CPU as the child). The child reads the
# request (limits, uid, seccomp filter, program path and arguments), puts itself in the
# run's place (stdio, session, rlimits, uid without capabilities, cwd, no_new_privs +
# seccomp) and then runs the program as `python3 [flags] PATH ARGS` would.
import sys

# What `python3 PATH` has imported when the program starts: the same as here, but for
# linecache, which `-c` imports (3.13 registers the command's source there).
_warmrun_base_modules = set(sys.modules) - {"linecache"}

import os, _socket, _ctypes


# The few C calls the server and its children make, on _ctypes itself: importing the ctypes
# package costs 0.25 MiB more than _ctypes alone (host memory per open session).
class _WarmrunInt(_ctypes._SimpleCData):
    _type_ = "i"


class _WarmrunULong(_ctypes._SimpleCData):
    _type_ = "L"


class _WarmrunLong(_ctypes._SimpleCData):
    _type_ = "l"


class _WarmrunUShort(_ctypes._SimpleCData):
    _type_ = "H"


class _WarmrunBytes(_ctypes._SimpleCData):
    _type_ = "z"


class _WarmrunLibc:
    _handle = _ctypes.dlopen(None, os.RTLD_LOCAL)


class _WarmrunFunction(_ctypes.CFuncPtr):
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _WarmrunInt


class _WarmrunRlimit(_ctypes.Structure):
    _fields_ = [("cur", _WarmrunULong), ("max", _WarmrunULong)]


class _WarmrunFprog(_ctypes.Structure):
    _fields_ = [("len", _WarmrunUShort), ("filter", _WarmrunBytes)]


class _WarmrunEnd(_ctypes.Structure):
    """A run's end as the agent reads it: wait4's status, then struct rusage (18 longs)."""

    _fields_ = [("status", _WarmrunInt), ("usage", _WarmrunLong * 18)]


_warmrun_prctl = _WarmrunFunction(("prctl", _WarmrunLibc))
_warmrun_setrlimit = _WarmrunFunction(("setrlimit", _WarmrunLibc))
_warmrun_wait4 = _WarmrunFunction(("wait4", _WarmrunLibc))
_warmrun_write = _WarmrunFunction(("write", _WarmrunLibc))
_warmrun_memset = _WarmrunFunction(("memset", _WarmrunLibc))
# Nothing of the sandbox uid may read or trace this process (it is root anyway; this is the
# second lock). Its children take dumpability back once they are the sandbox uid.
_warmrun_prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
# The agent's priority, which every child starts with (gVisor lets any process renice
# another's: a program could lower the server's and with it every next child's).
_warmrun_nice = os.getpriority(os.PRIO_PROCESS, 0)
# What the server has allocated lives as long as it does: out of the collector's sight, no
# collection in a run writes to those pages and copies them (host memory per open session,
# benches/density.rs). A run's child gives them back before the program.
import gc as _warmrun_gc

# The first compile in a process builds the compiler's own state; built here once, every
# child shares it instead of building it again before its program (0.8 of a hello world's
# 2.1 ms of CPU, benches/cpu_per_run.rs; the server grows by 0.3 MiB, each child by 0.25 MiB
# less). Nothing of any run is in it: the source is this constant.
compile("print('warmrun')\n", "<warmrun>", "exec", dont_inherit=True)
_warmrun_gc.freeze()


def _warmrun_serve():
    """Serves the agent; returns only in a run's child, with (path, args)."""
    ctl = _socket.socket(fileno=3)
    end = _WarmrunEnd()
    while True:
        data, anc, flags, _ = ctl.recvmsg(16, _socket.CMSG_SPACE(4 * 8))
        if not data:
            os._exit(0)  # the agent is gone
        fds = []
        for level, kind, payload in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds += [
                    int.from_bytes(payload[i : i + 4], "little")
                    for i in range(0, len(payload) - len(payload) % 4, 4)
                ]
        if data != b"F" or len(fds) != 5 or flags & _socket.MSG_CTRUNC:
            for fd in fds:
                os.close(fd)
            continue
        req, report, stdin, stdout, stderr = fds
        try:
            child = os.fork()
        except OSError:
            child = -1  # the agent sees the report socket close without an acknowledgement
        if child == 0:
            os.close(ctl.detach())
            os.close(report)
            return _warmrun_become_run(req, stdin, stdout, stderr)
        for fd in (req, stdin, stdout, stderr):
            os.close(fd)
        if child > 0:
            _warmrun_report(child, report, end)
        os.close(report)


def _warmrun_report(child, report, end):
    """Acknowledges the child ("P<pid>"), waits for it and sends its end: wait4's status and
    struct rusage as the kernel wrote them. They go from the kernel into `end` and from
    there to the agent, then `end` is zeroed: no Python object ever holds them, so nothing
    of this run's outcome stays in the memory the next child is forked from."""
    try:
        os.write(report, b"P%d" % child)
    except OSError:
        pass  # the agent gave up on the run; the child is still ours to reap
    usage = _ctypes.byref(end, _WarmrunEnd.usage.offset)
    while _warmrun_wait4(child, _ctypes.byref(end), 0, usage) < 0:
        if _ctypes.get_errno() != 4:  # EINTR
            return
    size = _WarmrunULong(_ctypes.sizeof(end))
    _warmrun_write(report, _ctypes.byref(end), size)
    _warmrun_memset(_ctypes.byref(end), 0, size)


def _warmrun_become_run(req, stdin, stdout, stderr):
    """The run's child: becomes what the agent makes of any step, then returns the program."""
    try:
        os.setsid()
        for target, fd in enumerate((stdin, stdout, stderr)):
            os.dup2(fd, target)
        data = b""
        while True:
            chunk = os.read(req, 65536)
            if not chunk:
                break
            data += chunk
        # Only the run's stdio stays open: not the server's control socket, not the request.
        for name in os.listdir("/proc/self/fd"):
            if int(name) > 2:
                try:
                    os.close(int(name))
                except OSError:
                    pass
        items, at = [], 0
        while at < len(data):
            n = int.from_bytes(data[at : at + 4], "little")
            items.append(data[at + 4 : at + 4 + n])
            at += 4 + n
        uid = int(items[0])
        # RLIMIT_CPU, FSIZE, NPROC, NOFILE (soft, hard), then CORE 0, as process.rs sets them.
        for resource, (soft, hard) in zip((0, 1, 6, 7, 4), (
            (int(items[1]), int(items[2])),
            (int(items[3]), int(items[3])),
            (int(items[4]), int(items[4])),
            (int(items[5]), int(items[5])),
            (0, 0),
        )):
            lim = _WarmrunRlimit(soft, max(soft, hard))
            _warmrun_setrlimit(resource, _ctypes.byref(lim))
        # os.open, not open(): no text stream to build on the way (CPU per run).
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        os.write(fd, b"1000")
        os.close(fd)
        if os.getpriority(os.PRIO_PROCESS, 0) != _warmrun_nice:
            os.setpriority(os.PRIO_PROCESS, 0, _warmrun_nice)
        # From root, this clears every capability (no SECBIT_KEEP_CAPS).
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        # As after an exec: the sandbox uid may read its own /proc files (the agent does).
        _warmrun_prctl(4, 1, 0, 0, 0)
        os.chdir("/workspace")
        prog = _WarmrunFprog(len(items[6]) // 8, items[6])
        # PR_SET_NO_NEW_PRIVS, then PR_SET_SECCOMP with SECCOMP_MODE_FILTER.
        if _warmrun_prctl(38, 1, 0, 0, 0) != 0 or _warmrun_prctl(
            22, 2, _ctypes.byref(prog), 0, 0
        ) != 0:
            raise OSError(_ctypes.get_errno(), "seccomp")
        path = items[7].decode("utf-8", "surrogateescape")
        args = [a.decode("utf-8", "surrogateescape") for a in items[8:]]
    except BaseException as error:
        os.write(2, b"cannot start: %s\n" % str(error).encode())
        os._exit(127)
    # What the program sees of the interpreter is what `python3 PATH ARGS` gives it.
    sys.orig_argv = sys.orig_argv[:-3] + [path] + args
    for name in list(sys.modules):
        if name not in _warmrun_base_modules:
            del sys.modules[name]
    _warmrun_gc.unfreeze()
    return path, args


_warmrun_given, _warmrun_args = _warmrun_serve()
del _warmrun_serve, _warmrun_report, _warmrun_become_run, _warmrun_base_modules
del _warmrun_nice
del _WarmrunInt, _WarmrunULong, _WarmrunLong, _WarmrunUShort, _WarmrunBytes, _WarmrunLibc
del _WarmrunFunction, _WarmrunRlimit, _WarmrunFprog, _WarmrunEnd, _warmrun_prctl
del _warmrun_setrlimit, _warmrun_wait4, _warmrun_write, _warmrun_memset, _warmrun_gc
del _socket, _ctypes

def _warmrun_exit_status(exit):
    """The status `python3` exits with on an uncaught SystemExit (handle_system_exit)."""
    code = exit.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write("%s\n" % (code,))
    except BaseException:
        pass
    return 1


def _warmrun_finish(status):
    """What `python3` does once the program is over, but for freeing the interpreter.

    Freeing it object by object writes to every page inherited from the server (reference
    counts, the collector's links) and so copies them all: that teardown was most of a
    hello world's CPU (benches/cpu_per_run.rs). Python does not promise finalizers at exit;
    what programs rely on is kept, in Py_FinalizeEx's order: non-daemon threads are joined,
    atexit callbacks run, the standard streams are flushed and put back to the originals,
    the program's globals are dropped (files it left open are flushed and closed, their
    __del__ run), and a failed flush makes the status 120."""
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException:
            sys.unraisablehook(sys.UnraisableHookArgs((*sys.exc_info(), None, None)))
    # Only a program that imported atexit can have registered callbacks; importing it here
    # would run the import system for nothing (0.17 ms of a hello world's CPU).
    atexit = sys.modules.get("atexit")
    if atexit is not None:
        atexit._run_exitfuncs()

    def flush_std():
        ok = True
        for stream in (sys.stdout, sys.stderr):
            # As CPython's file_is_closed: a stream that cannot say counts as open.
            try:
                closed = stream is None or bool(stream.closed)
            except BaseException:
                closed = False
            if closed:
                continue
            try:
                stream.flush()
            except BaseException as error:
                ok = False
                if stream is sys.stdout:
                    try:
                        sys.stderr.write(
                            "Exception ignored in: %r\n%s: %s\n"
                            % (stream, type(error).__name__, error)
                        )
                    except BaseException:
                        pass
        return ok

    ok = flush_std()
    # As finalize_modules: the standard streams go back to the originals before the
    # program's globals are dropped (a replacement may need them to flush).
    sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__
    main = sys.modules.get("__main__")
    if main is not None:
        import _thread

        if getattr(_thread, "_count", lambda: 1)() == 0:
            main.__dict__.clear()
        else:
            # Daemon threads still run: Python stops them before it clears modules, this
            # cannot; they would meet emptied globals. Files left open are flushed instead.
            import io

            for value in list(main.__dict__.values()):
                if isinstance(value, io.IOBase) and not value.closed:
                    try:
                        value.flush()
                    except BaseException:
                        pass
    ok = flush_std() and ok
    os._exit(status if ok else 120)


_warmrun_path = os.path.abspath(_warmrun_given)
sys.argv = [_warmrun_given] + _warmrun_args
sys.path[0] = os.path.dirname(_warmrun_path)
_warmrun_status = 0
try:
    # What `python3 PATH` does: compile the file and run it as a fresh __main__ module.
    with open(_warmrun_path, "rb") as _f:
        _code = compile(_f.read(), _warmrun_path, "exec", dont_inherit=True)
    _main = type(sys)("__main__")
    _main.__file__ = _warmrun_path
    _main.__cached__ = None
    if sys.version_info < (3, 14):
        _main.__annotations__ = {}
    _main.__builtins__ = __builtins__
    sys.modules["__main__"] = _main
    del _main
    exec(_code, sys.modules["__main__"].__dict__)
except SystemExit as _warmrun_exit:
    _warmrun_status = _warmrun_exit_status(_warmrun_exit)
    del _warmrun_exit
except BaseException as _warmrun_error:
    # Print the traceback as plain `python3 main.py` would: without this file's frames.
    import traceback

    _tb = _warmrun_error.__traceback__
    while _tb is not None and _tb.tb_frame.f_code.co_filename != _warmrun_path:
        _tb = _tb.tb_next
    traceback.print_exception(type(_warmrun_error), _warmrun_error, _tb)
    _warmrun_status = 130 if isinstance(_warmrun_error, KeyboardInterrupt) else 1
    del _warmrun_error, _tb
_warmrun_finish(_warmrun_status)
