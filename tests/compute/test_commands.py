"""`manage.py advise`: table or JSON output, dry run, bad input as CommandError."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from compute.models import JobSummary


def run(*args) -> str:
    out = StringIO()
    call_command("advise", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def workload_file(tmp_path):
    def write(body) -> str:
        path = tmp_path / "workload.json"
        path.write_text(body if isinstance(body, str) else json.dumps(body))
        return str(path)

    return write


def test_prints_a_table_and_records_a_cli_summary(registry, workload_file):
    registry("runpod", "coreweave", "paperspace")
    output = run(workload_file({"requirements": {"type": "voice_synthesis", "estimated_minutes": 3},
                                "budget": {"mode": "cost_saver"}}))
    lines = output.splitlines()
    assert lines[0] == "Choice: REMOTE"
    row = next(line for line in lines if line.startswith("*"))
    assert "runpod" in row and "$0.02" in row and "chosen" in row
    assert any("paperspace" in line and "$0.78" in line for line in lines)
    summary = JobSummary.objects.get()
    assert (summary.source, summary.provider_id, summary.user) == ("cli", "runpod", None)
    assert f"job summary: {summary.id}" in output


def test_json_and_dry_run(registry, workload_file):
    registry("vast", "runpod")
    output = run(workload_file({"workload": {"requirements": {"type": "cg_batch", "estimated_minutes": 240},
                                             "budget": {"mode": "cost_saver", "limit_usd": 1}}}),
                 "--json", "--dry-run")
    body = json.loads(output)
    assert body["choice"] == "cpu" and body["warnings"][0]["code"] == "over_budget"
    assert body["job_summary"]["id"] is None and not JobSummary.objects.exists()
    table = run(workload_file({"requirements": {"type": "cg_batch", "estimated_minutes": 240},
                               "budget": {"limit_usd": 1}}), "--dry-run")
    assert "OVER_BUDGET" in table and "warning over_budget" in table


@pytest.mark.parametrize(("content", "message"), [
    ("{nope", "Cannot read"),
    ({"budget": {"mode": "yolo"}}, "budget.mode"),
    ([1], "body"),
])
def test_bad_input_is_a_command_error(templates, workload_file, content, message):
    with pytest.raises(CommandError, match=message):
        run(workload_file(content))


def test_missing_file_is_a_command_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run(str(tmp_path / "absent.json"))
