"""URL map of the compute app: the advise endpoints (upstream paths) and the job summary audit API."""
from django.urls import path

from compute.apis import AdviceCreateApi, GpuAdviceCreateApi, JobSummaryDetailApi, JobSummaryListApi

app_name = "compute"
urlpatterns = [
    path("compute/advise", AdviceCreateApi.as_view(), name="advise"),
    path("api/gpu/advise", GpuAdviceCreateApi.as_view(), name="gpu-advise"),
    path("api/jobs/summaries/", JobSummaryListApi.as_view(), name="summaries"),
    path("api/jobs/summaries/<str:summary_id>", JobSummaryDetailApi.as_view(), name="summary"),
]
