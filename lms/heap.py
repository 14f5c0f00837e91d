"""The garbage collector after start-up: what a process loaded to serve is frozen out of it.

A web or Celery worker process holds about 250,000 objects that the collector tracks once Django
has loaded its apps, URLconf and views (functions, classes, modules, the translation catalogues),
and they live as long as the process. Python's full collection walks every one of them: about
200 ms on this machine each time, once every few thousand pages, and about once every thousand
first views a drain writes (the drain keeps many objects alive between collections), which cost
it a third of its time measured in process (docs/performance/hot_paths.md). `gc.freeze()` moves
everything alive at that moment into a permanent generation the collector no longer walks: a
full collection then takes under a millisecond. Garbage made later is collected as before;
what was frozen stays, which is what it would have done anyway (it is the process's code and
configuration).

`LMS_GC_FREEZE=0` turns it off.
"""

from __future__ import annotations

import gc


def freeze() -> int:
    """Import every view the URLconf names, collect what start-up left as garbage, and freeze
    the rest; returns how many objects are frozen (0 when turned off)."""
    from django.urls import get_resolver

    from lms.settings import env_bool

    if not env_bool("LMS_GC_FREEZE", True):
        return 0

    get_resolver().url_patterns  # noqa: B018 - imports the views' modules now, not on a request
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
