"""gunicorn settings, read from the working directory by `gunicorn comfyvn_site.wsgi` (flags still override them).

The app is loaded once in the master (preload_app), then everything it allocated (Django, DRF, the URL map, the
settings) is moved out of the garbage collector's reach with gc.freeze() before the workers fork. A full collection
in a worker then only walks what the worker itself allocates, which cuts the advisor's latency tail (issue 3;
docs/ADVISOR.md "Performance"), and the forked workers keep sharing those pages instead of copying them when the
collector would touch their headers (https://docs.python.org/3/library/gc.html#gc.freeze).

The oldest generation is then collected ten times less often (threshold2 100, not 10). Each worker keeps the last
few answers it gave (compute/services.py): when every question is new, each answer lives a few requests, survives
into the oldest generation and soon starts a full collection over every kept answer. Measured at 1,000 providers:
about 8 full collections per 1,000 new questions with the default, 1 with this; garbage collection per request
1.06 -> 0.66 ms. Cyclic garbage that reaches the oldest generation waits longer, which `make bench`'s memory
figures watch.
"""
import gc

preload_app = True
OLDEST_GENERATION_THRESHOLD = 100


def when_ready(server):
    """In the master, after the app is loaded and before the first fork."""
    from django.db import connections

    # The WSGI module's startup checks query the database; a forked worker must not inherit that connection.
    connections.close_all()
    gc.collect()
    gc.freeze()
    threshold0, threshold1, _ = gc.get_threshold()
    gc.set_threshold(threshold0, threshold1, OLDEST_GENERATION_THRESHOLD)
