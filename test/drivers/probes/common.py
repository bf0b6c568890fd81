# Shared by the Python probes: the target from PROBE_TARGET, and feature capture that records an error by its
# SQLSTATE (or exception class) instead of stopping, so one defect does not hide the features after it.
import json
import os
import traceback

TARGET = json.loads(os.environ["PROBE_TARGET"])
OUT = {}


def sqlstate_of(err):
    code = getattr(err, "sqlstate", None)
    return code if code else f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"


def feature(name):
    def run(fn):
        try:
            OUT[name] = fn()
        except Exception as err:  # the value IS the observation; the comparison judges it
            OUT[name] = {"error": sqlstate_of(err)}
            if os.environ.get("PROBE_DEBUG"):
                traceback.print_exc()
        return fn

    return run


async def afeature(name, coro_fn):
    try:
        OUT[name] = await coro_fn()
    except Exception as err:
        OUT[name] = {"error": sqlstate_of(err)}
        if os.environ.get("PROBE_DEBUG"):
            traceback.print_exc()


def emit():
    print(json.dumps(OUT, sort_keys=True, default=str))
