"""Results derived from a store, kept per store and computed once per key.

Analysis, indicators, documents, the importer's district index and the web's page
cache keep what they derive from the layers here, keyed on the store's data version
(:meth:`layers.store.base.Store.layer_version`), so a commit makes them recompute and
nothing else does.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable

from layers.store.base import Store


class TimedCache:
    """A small thread-safe LRU cache whose entries expire."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size, self.seconds = size, seconds
        self._items: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> object | None:
        """The value kept under ``key``, or None when there is none or it expired."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None or time.monotonic() - hit[0] > self.seconds:
                self._items.pop(key, None)
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: tuple, value: object) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used beyond the size."""
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()


class ComputedPerStore:
    """Results kept per store (held weakly) in a :class:`TimedCache`, computed once
    per key: requests that arrive while a key is being computed (after an import
    committed, say) wait for that computation instead of starting their own."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size, self.seconds = size, seconds
        self._caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._computing: dict[tuple, threading.Lock] = {}

    def get(self, store: Store, key: tuple, compute: Callable[[], object]) -> object:
        """The cached value of ``key`` for ``store``, or ``compute()`` stored under it."""
        with self._lock:
            cache = self._caches.get(store)
            if cache is None:
                cache = self._caches[store] = TimedCache(self.size, self.seconds)
        hit = cache.get(key)
        if hit is not None:
            return hit
        with self._lock:
            if len(self._computing) > 256:
                self._computing.clear()
            computing = self._computing.setdefault((id(cache), key), threading.Lock())
        with computing:
            hit = cache.get(key)
            if hit is None:
                hit = compute()
                cache.put(key, hit)
        return hit

    def clear(self) -> None:
        """Forget every result."""
        with self._lock:
            for cache in self._caches.values():
                cache.clear()
