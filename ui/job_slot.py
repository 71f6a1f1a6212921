"""One background job of a session, bound to its session-state keys: submit, harvest, cancel, report.

The dashboard has three: the main fit (Fit page, Learn stories), the other-parameterization fit
(Funnel page) and the pooling comparison (Checks page). Each is a :class:`JobSlot` with its own
keys, wording and ``store`` (what to do with a finished result); the flow is the same:

* :meth:`JobSlot.start` -- a result that is ready (session, process-wide cache) is stored at once;
  otherwise the task is submitted to :func:`hiermod.jobs.default_executor` in this session's place
  in the fair queue (:func:`ui.state.session_id`: one running job per session, sessions take
  turns), shared with any other session running the same key (:func:`ui.cache.in_flight`).
* :meth:`JobSlot.harvest` -- a finished job's result is stored and its status recorded.
* :meth:`JobSlot.cancel` -- this session stops waiting; the job stops unless another session waits.
* :meth:`JobSlot.monitor` -- progress (a fragment polling while the job runs) and a Cancel button.

Workers (processes by default, see :mod:`hiermod.worker_pool`) never touch session state: the job
object carries progress and the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import streamlit as st

from hiermod.worker_pool import RETRYING

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.jobs import Job


RUNNING_POLL_S = 1.0
"""A running job's progress is read this often (seconds)."""
QUEUED_POLL_S = 3.0
"""A queued job's place in line is read this often (seconds). A class of 40 tabs, each polling
three fragments every 0.5-1 s, kept the one server process so busy that a fresh tab took minutes to
load (bench/CLASS_LOAD.md); most of a class's jobs are queued, and a place in line changes only
when a fit ends."""


@dataclass(frozen=True)
class Wording:
    """What a slot says about its job."""

    what: str                      # "the fit", "the comparison", ...: for error contexts
    from_cache: str                # status message when the result was ready at once
    done: str                      # ... when the job finished
    cancelled: str                 # ... when it was cancelled
    failed: str                    # ... when it failed without a message


@dataclass(frozen=True)
class JobSlot:
    """A session's slot for one background job: the session keys of the job, its key (the
    cache key of what it computes), the time it was started and the status of the last request."""

    keys: tuple[str, str, str, str]       # job, key, t0, status
    wording: Wording
    store: Callable[[tuple, Any], None]   # keeps a finished result in session state

    @property
    def _keys(self) -> tuple[str, str, str, str]:
        return self.keys

    # ------------------------------------------------------------------------------ reading
    @property
    def job(self) -> "Job | None":
        return st.session_state.get(self._keys[0])

    @property
    def key(self) -> tuple | None:
        return st.session_state.get(self._keys[1])

    @property
    def status(self) -> dict | None:
        """{"status", "message", "seconds", "key", "at"} of the last request, or None."""
        return st.session_state.get(self._keys[3])

    def running(self, key: tuple | None = None) -> bool:
        """A job is queued or running (for ``key``, when given)."""
        job = self.job
        return job is not None and not job.done() and (key is None or self.key == key)

    def partial(self) -> Any:
        """What the running job published so far (an exact preview), else None."""
        job = self.job
        return None if job is None or job.done() else job.partial

    def set_status(self, status: str, message: str = "", seconds: float | None = None,
                   key: tuple | None = None) -> None:
        st.session_state[self._keys[3]] = {"status": status, "message": message, "seconds": seconds,
                                           "key": key, "at": time.time()}

    def _seconds(self, job: "Job | None" = None) -> float | None:
        t0 = st.session_state.get(self._keys[2])
        if not t0:
            return None
        end = job.finished_at if job is not None and job.finished_at else time.time()
        return end - t0

    def _clear(self) -> None:
        st.session_state[self._keys[0]] = None

    # ------------------------------------------------------------------------------ writing
    def start(self, key: tuple, ready: Callable[[], Any], task: Callable, *args: Any,
              label: str) -> None:
        """Store ``ready()`` when it gives a result, else submit ``task(*args)`` (shared by key)."""
        from hiermod.jobs import Job
        from ui import cache
        from ui.components import error_message, guarded
        from ui.state import session_id

        ss = st.session_state
        t0 = time.time()
        context = f"starting {self.wording.what}"
        result, err = guarded(ready, context=context)
        if err is None and result is None:
            result, err = guarded(cache.submit_shared, key, task, *args, label=label,
                                  session=session_id(), context=context)
        if err is not None:
            self.set_status("failed", error_message(err, context), None, key)
        elif isinstance(result, Job):
            ss[self._keys[0]], ss[self._keys[1]], ss[self._keys[2]] = result, key, t0
            self.set_status("running", "", None, key)
        else:
            self.store(key, result)
            self.set_status("done", self.wording.from_cache, time.time() - t0, key)

    def harvest(self) -> bool:
        """If the job has finished, store its result and record how it ended. True if it did."""
        from ui.components import error_message

        job = self.job
        if job is None or not job.done():
            return False
        key, seconds = self.key, self._seconds(job)
        if job.status == "done":
            try:
                self.store(key, job.result(0))
            except Exception as exc:  # noqa: BLE001 - defensive; status said done
                self.set_status("failed", error_message(exc, f"reading {self.wording.what}"), seconds, key)
            else:
                self.set_status("done", self.wording.done, seconds, key)
        elif job.status == "cancelled":
            self.set_status("cancelled", self.wording.cancelled, seconds, key)
        else:
            self.set_status("failed", job.error_message or self.wording.failed, seconds, key)
        self._clear()
        return True

    def cancel(self) -> None:
        """This session stops waiting. When nobody else waits the job is cancelled and harvested
        as such when it stops; otherwise it keeps running for the others and leaves this slot."""
        from ui import cache

        job = self.job
        if job is None:
            return
        if not cache.in_flight().release(self.key, job):
            self.set_status("cancelled", self.wording.cancelled, self._seconds(), self.key)
            self._clear()

    # ------------------------------------------------------------------------------ showing
    def monitor(self, describe: Callable[["Job"], tuple[float, str]], *, interval: float = RUNNING_POLL_S,
                cancel_label: str | None = None, cancel_key: str | None = None,
                extra: Callable[["Job"], None] | None = None) -> None:
        """Progress of the job and, with ``cancel_label``, a Cancel button. The progress is a
        fragment polling every ``interval`` s while the job runs and every :data:`QUEUED_POLL_S`
        while it waits in the queue; each tick only reads the job. When the job starts, publishes
        a preview or finishes, the whole app reruns (once): the page draws what changed outside
        the fragment and the fragment gets its new interval. The button lives outside the
        fragment: its click reruns the whole app, so it cannot be lost to the fragment's reruns."""
        job = self.job
        active = job is not None and not job.done()
        if active and cancel_label and st.button(cancel_label, key=cancel_key,
                                                 icon=":material/stop_circle:",
                                                 disabled=job.cancel_event.is_set()):
            self.cancel()
            st.rerun()
        # what the page was drawn with: a change of either reruns the app
        drawn = (job.status, job.partial is not None) if active else None

        def body() -> None:
            current = self.job
            if current is not None and self.harvest():
                st.rerun()  # whole app: the pages now show the finished result
            if current is None:
                if drawn is not None:  # harvested by an earlier tick whose app rerun never came
                    st.rerun()  # (lost to another rerun): the page still shows the running job
                return
            if drawn is not None and (current.status, current.partial is not None) != drawn:
                st.rerun()  # started (a faster poll) or published its preview (drawn by the page)
            fraction, text = describe(current)
            if current.progress.message == RETRYING:  # its worker died; the pool runs it again
                fraction, text = 0.0, RETRYING
            if current.cancel_event.is_set():
                text = "Cancelling: the sampler stops at the end of its current chunk..."
            st.progress(fraction, text=text)
            if extra is not None:
                extra(current)

        # a distinct function per slot and place, so Streamlit keeps their fragments apart
        body.__qualname__ = body.__name__ = f"{self.keys[0]}_{cancel_key or 'progress'}_monitor"
        every = None if not active else QUEUED_POLL_S if drawn[0] == "queued" else interval
        # inside a container of its own, drawn on every run: the fragment's elements keep their own
        # place, so a box drawn after it (the page's "Fit cancelled" / "Fit finished") never takes
        # the place of an element the fragment drew while its job ran, which a late timed rerun of
        # the fragment would clear with it
        with st.container():
            st.fragment(run_every=every)(body)()

    def status_box(self, key: tuple | None = None, done: bool = False) -> None:
        """How the last request ended (for ``key``, when given): a warning when cancelled, an error
        when it failed, and (with ``done``) a success box with the time it took."""
        status = self.status
        if not status or self.job is not None or (key is not None and status.get("key") != key):
            return
        took = f" ({fmt_seconds(status['seconds'])})" if status.get("seconds") is not None else ""
        if status["status"] == "done" and done:
            st.success(f"{status['message']}{took}", icon=":material/check_circle:")
        elif status["status"] == "cancelled":
            st.warning(f"{status['message'].rstrip('.')}{took}.", icon=":material/cancel:")
        elif status["status"] == "failed":
            st.error(status["message"], icon=":material/error:")


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "unknown"
    if s < 1:
        return f"{s:.2f} s"
    if s < 60:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {int(s % 60)} s"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def queue_text(job: "Job") -> str:
    """Where a queued job stands (sessions take turns; a session's jobs run one at a time)."""
    pos = job.queue_position()
    if not pos:
        return "Waiting to start."
    return (f"Waiting: {ordinal(pos)} in line; it starts when a running fit ends (everyone's fits take "
            "turns, one at a time per browser tab).")
