"""gunicorn settings, read from the working directory by `gunicorn comfyvn_site.wsgi` (flags still override them).

The app is loaded once in the master (preload_app), then everything it allocated (Django, DRF, the URL map, the
settings) is moved out of the garbage collector's reach with gc.freeze() before the workers fork. A full collection
in a worker then only walks what the worker itself allocates, which cuts the advisor's latency tail (issue 3;
docs/ADVISOR.md "Performance"), and the forked workers keep sharing those pages instead of copying them when the
collector would touch their headers (https://docs.python.org/3/library/gc.html#gc.freeze).

Workers are sync (one request at a time), not threaded: in interleaved runs of bench/http_bench.py on one host,
2 threads per worker (gthread, keep-alive) served advise at 8 clients no faster (662-691 against 771-796 req/s)
and put its p99 at 32 clients at 89-91 ms against 52-73 ms (docs/PERFORMANCE.md).
"""
import gc

preload_app = True


def when_ready(server):
    """In the master, after the app is loaded and before the first fork."""
    from django.db import connections

    # The WSGI module's startup checks query the database; a forked worker must not inherit that connection.
    connections.close_all()
    gc.collect()
    gc.freeze()
