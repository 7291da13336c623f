"""Work that runs once in the background while the page is already served (loading the model).

``Background(fn)`` starts ``fn`` in a daemon thread (``start=False``: when ``start()`` is called); ``ready`` says whether it has finished;
``wait()`` blocks until it has and re-raises its error, if any, in every caller; ``seconds`` is how
long it took.  ``Background.done()`` is one that has already finished (nothing to wait for).
"""

from __future__ import annotations

import threading
import time


class Background:
    def __init__(self, fn=None, *, name: str = "warm-up", log=None, start: bool = True):
        self._event = threading.Event()
        self.error: BaseException | None = None
        self.seconds: float | None = None
        self._log = log
        self._thread = None
        if fn is None:
            self.seconds = 0.0
            self._event.set()
        else:
            self._thread = threading.Thread(target=self._run, args=(fn,), name=name, daemon=True)
            if start:
                self.start()

    def start(self) -> None:
        """Start the work (once; later calls do nothing)."""
        if self._thread is not None and not self._thread.is_alive() and not self._event.is_set():
            try:
                self._thread.start()
            except RuntimeError:  # started already
                pass

    @classmethod
    def done(cls) -> "Background":
        return cls()

    def _run(self, fn) -> None:
        t = time.perf_counter()
        try:
            fn()
        except BaseException as e:  # kept for every waiting caller
            self.error = e
        finally:
            self.seconds = time.perf_counter() - t
            self._event.set()
            if self._log:
                self._log(f"model ready ({self.seconds:.1f}s in the background)" if self.error is None
                          else f"model failed to load: {self.error}")

    @property
    def ready(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once finished (False on timeout); raises the background error, if there was one."""
        if not self._event.wait(timeout):
            return False
        if self.error is not None:
            raise self.error
        return True
