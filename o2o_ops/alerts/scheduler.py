"""``python -m o2o_ops scheduler``: a long-running loop that does what cron would: every
``O2O_SCHEDULER_INTERVAL_S`` seconds one ``alerts run`` and one ``digest send`` (digests only
for the people whose weekday and hour have come). A round that fails is reported and the loop
goes on; SIGTERM or Ctrl-C ends it between rounds.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from typing import Callable, Iterator

from o2o_ops import auth, config, db
from o2o_ops.alerts import channels, digest, engine, store

log = logging.getLogger("o2o_ops.alerts")


def one_round(*, clock: Callable[[], dt.datetime] = store.utc_now, **kwargs) -> list[str]:
    # kwargs: warehouse, users_path, senders, sleep (the backoff's) - passed to both jobs
    """Alerts then due digests; the lines to print (problems included, never a traceback)."""
    lines: list[str] = []
    for name, job in (("alerts", engine.run), ("digest", digest.send)):
        try:
            result = job(now=clock(), **kwargs)
        except (db.WarehouseError, auth.AuthError, OSError, ValueError, channels.DeliveryError) as exc:
            lines.append(f"{name}: could not run: {exc}")
            continue
        lines += [f"{name}: {line}" for line in result.lines()]
    return lines


def loop(*, interval_s: float | None = None, rounds: int | None = None,
         sleep: Callable[[float], None] = time.sleep, clock: Callable[[], dt.datetime] = store.utc_now,
         echo: Callable[[str], None] = print, **kwargs) -> int:
    """Run :func:`one_round` every ``interval_s`` seconds (``rounds`` times, or until stopped)."""
    interval_s = config.get_float("O2O_SCHEDULER_INTERVAL_S") if interval_s is None else interval_s
    stop = {"now": False}

    def _stop(signum, frame):  # noqa: ARG001 - signal handler signature
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, _stop) if _main_thread() else None
    done = 0
    try:
        while not stop["now"] and (rounds is None or done < rounds):
            started = clock()
            for line in one_round(clock=clock, sleep=sleep, **kwargs):
                echo(f"{started:%Y-%m-%d %H:%M:%S} {line}")
            done += 1
            if rounds is not None and done >= rounds:
                break
            for _ in _ticks(interval_s):
                if stop["now"]:
                    break
                sleep(min(1.0, interval_s))
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return done


def _ticks(interval_s: float) -> Iterator[int]:
    """One tick per second of the interval, so a stop request is seen within a second."""
    return iter(range(max(1, int(round(interval_s)))))


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
