"""gunicorn settings, read from the working directory by `gunicorn comfyvn_site.wsgi` (flags still override them).

The app is loaded once in the master (preload_app), then everything it allocated (Django, DRF, the URL map, the
settings) is moved out of the garbage collector's reach with gc.freeze() before the workers fork. A full collection
in a worker then only walks what the worker itself allocates, which cuts the advisor's latency tail (issue 3;
docs/ADVISOR.md "Performance"), and the forked workers keep sharing those pages instead of copying them when the
collector would touch their headers (https://docs.python.org/3/library/gc.html#gc.freeze).

Each worker serves two requests at once on threads (gthread) and keeps client connections alive. A sync worker sat
idle through every database round trip and commit, and through the lingering close of each connection, during which
it could serve nothing. Measured with bench/http_bench.py (2 workers, 1,000 providers, same host, interleaved runs):
advise at 8 clients went from 508 to 689-747 req/s, and its p99 at 32 clients from 97 to 88-94 ms; 4 threads per
worker did no better and had a longer tail (docs/PERFORMANCE.md).
"""
import gc

preload_app = True
worker_class = "gthread"
threads = 2


def when_ready(server):
    """In the master, after the app is loaded and before the first fork."""
    from django.db import connections

    # The WSGI module's startup checks query the database; a forked worker must not inherit that connection.
    connections.close_all()
    gc.collect()
    gc.freeze()
