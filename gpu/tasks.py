"""Celery tasks: thin wrappers that call one gpu service."""
from celery import shared_task

from gpu.services import gpu_inventory_sync


@shared_task(ignore_result=True)
def gpu_inventory_sync_task() -> None:
    """Report the host of whichever worker runs this; routed to every worker (see CELERY_TASK_ROUTES).

    No retry: a failed report is superseded by the next scheduled one, and a stale host drops out on its own.
    """
    gpu_inventory_sync()
