"""The SkyPilot vms.csv parser: pure, so no database; every data trap of peers.md 3.3 has a case."""
from decimal import Decimal

import pytest

from catalog.importers import catalog_text
from catalog.importers.skypilot import parse
from comfyvn_site.exceptions import InvalidCatalog

LAMBDA_HEADER = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region,GpuInfo,SpotPrice"
RUNPOD_HEADER = ("InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Region,SpotPrice,Price,"
                 "AvailabilityZone,GpuInfo")
VAST_HEADER = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region"
GCP_HEADER = ("InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,Region,AvailabilityZone,Price,"
              "SpotPrice")


def gpu_info(name: str, count: int, size_mib: int, total_mib: int) -> str:
    return (f"\"{{'Gpus': [{{'Name': '{name}', 'Count': {count}, 'MemoryInfo': {{'SizeInMiB': {size_mib}}}}}], "
            f"'TotalGpuMemoryInMiB': {total_mib}}}\"")


def parse_text(*lines: str, newline: str = "\n"):
    return parse(catalog_text(newline.join(lines).encode() + newline.encode()))


def only_row(*lines: str, newline: str = "\n"):
    result = parse_text(*lines, newline=newline)
    assert len(result.rows) == 1, result
    return result.rows[0]


def test_parse_reads_cells_by_header_name_whatever_the_column_order():
    lam = only_row(LAMBDA_HEADER, "gpu_1x_a10,A10,1.0,30.0,200.0,1.29,us-east-1,,")
    gcp = only_row(GCP_HEADER, "gpu_1x_a10,30.0,200.0,A10,1.0,,us-east-1,,1.29,")
    assert lam == gcp
    assert (lam.gpu_name, lam.gpu_count, lam.vram_per_gpu_gb, lam.vcpus, lam.memory_gb) == ("A10", 1, 24.0, 30.0, 200.0)
    assert (lam.region, lam.zone, lam.hourly_usd, lam.spot_hourly_usd) == ("us-east-1", "", Decimal("1.29"), None)


def test_parse_handles_crlf_endings_and_quoted_cells():
    line = f"2x-H200,H200,2,32,64.0,{gpu_info('H200', 2, 287542, 287542)},5.18,0.00,\"Michigan, US, NA\""
    row = only_row(VAST_HEADER, line, newline="\r\n")
    assert (row.region, row.hourly_usd) == ("Michigan, US, NA", Decimal("5.18"))


@pytest.mark.parametrize("header, line, vram, note", [
    # Lambda: sizes per GPU, and the "total" is per GPU too.
    (LAMBDA_HEADER, f"gpu_8x_v100,V100,8.0,92.0,448.0,4.4,us-east-1,{gpu_info('V100', 8, 16384, 16384)},", 16.0, None),
    # Vast: sizes are the whole instance's.
    (VAST_HEADER, f"2x-H200,H200,2,32,64.0,{gpu_info('H200', 2, 287542, 287542)},5.18,0.00,EU", 141.0, None),
    # RunPod v8: GB written as MiB.
    (RUNPOD_HEADER, f"1x_A100-80GB,A100-80GB,1.0,8.0,80.0,CA,1.19,1.64,CA-MTL-1,{gpu_info('A100-80GB', 1, 80, 80)}",
     80.0, None),
    # Lambda's B200 is 180 GB though metadata.csv says 80.
    (LAMBDA_HEADER, f"gpu_1x_b200,B200,1.0,26.0,225.0,4.99,us-east-1,{gpu_info('B200', 1, 184320, 184320)},", 180.0,
     None),
    # A catalog saying less than the table wins: Vast's "RTX3060" pair is two 8 GB 3060 Ti.
    (VAST_HEADER, f"2x-RTX_3060_Ti,RTX3060,2,32,64.0,{gpu_info('RTX3060', 2, 16384, 16384)},0.20,0.00,US", 8.0,
     "vram_below_table"),
    # ... but one saying more never raises the table's size.
    (VAST_HEADER, f"1x-H100_NVL,H100,1,32,64.0,{gpu_info('H100', 1, 95830, 95830)},2.08,0.00,EU", 80.0,
     "vram_above_table"),
])
def test_parse_takes_vram_from_the_table_and_gpu_info_only_as_a_hint(header, line, vram, note):
    result = parse_text(header, line)
    assert result.rows[0].vram_per_gpu_gb == vram
    assert result.notes == ({note: [2]} if note else {})


@pytest.mark.parametrize("line, reason", [
    ("cpu_4x_generalx,,,4.0,16.0,0.2,us-east-1,,", "cpu_only"),
    ("gpu_1x_a10,A10,1.0,30.0,200.0,,us-east-1,,", "no_price"),
    ("gpu_1x_a10,A10,1.0,30.0,200.0,700.0,us-east-1,,", "sentinel_price"),
    (",A10,1.0,,,0.5,us-east-1,,", "accelerator_only"),
    ("tpu_vm,tpu-v4,4.0,,,700.0,us-central2,,", "not_a_gpu"),
    ("gpu_1x_x,RTX9090,1.0,8.0,32.0,0.5,us-east-1,,", "unknown_gpu (RTX9090)"),
    ("gpu_half,A10,0.5,8.0,32.0,0.5,us-east-1,,", "fractional_gpu"),
])
def test_parse_skips_rows_that_are_not_priced_gpu_offers_with_a_reason(line, reason):
    result = parse_text(LAMBDA_HEADER, line)
    assert (result.rows, result.skipped, result.rows_read) == ([], {reason: [2]}, 1)


def test_parse_drops_exact_duplicates_and_zero_spot_prices():
    line = "1x-A40,A40,1,32,64.0,,0.40,0.00,US"
    result = parse_text(VAST_HEADER, line, line)
    assert len(result.rows) == 1 and result.skipped == {"duplicate": [3]}
    assert result.rows[0].spot_hourly_usd is None


def test_parse_never_evaluates_gpu_info_code():
    line = "gpu_1x_a10,A10,1.0,30.0,200.0,1.29,us-east-1,\"{'Gpus': __import__('os').system('false')}\","
    with pytest.raises(InvalidCatalog) as caught:
        parse_text(LAMBDA_HEADER, line)
    assert caught.value.extra["line"] == 2 and "GpuInfo" in caught.value.message


@pytest.mark.parametrize("lines, line, words", [
    ([LAMBDA_HEADER, "gpu_1x_a10,A10,1.0,30.0,200.0,1.29,us-east-1,"], 2, "expected 9 fields"),
    ([LAMBDA_HEADER, "gpu_1x_a10,A10,1.0,30.0,200.0,1.29,us-east-1,,", "gpu_1x_a10,A10,1.0,30.0,200.0,abc,eu,,"],
     3, "Price 'abc'"),
    ([LAMBDA_HEADER, "gpu_1x_a10,A10,1.0,30.0,200.0,-1,us-east-1,,"], 2, "Price '-1'"),
    ([LAMBDA_HEADER, "gpu_1x_a10,A10,1.0,30.0,200.0,NaN,us-east-1,,"], 2, "Price 'NaN'"),
    ([LAMBDA_HEADER, "gpu_1x_a10,A10,0,30.0,200.0,1.0,us-east-1,,"], 2, "AcceleratorCount"),
    ([LAMBDA_HEADER, "gpu_1x_a10,A10,1.0,30.0,200.0,1.0,,,"], 2, "Region"),
    (["InstanceType,Price,Region", "x,1,y"], 1, "lacks AcceleratorName"),
    ([LAMBDA_HEADER, "gpu_1x_a10,A10,1.0,30.0,200.0,1.29,us-east-1,,",
      "gpu_1x_a10,A10,1.0,30.0,200.0,1.30,us-east-1,,"], 3, "repeats line 2"),
    ([LAMBDA_HEADER, "gpu_1x_a10,A10,1.0,30.0,200.0,1.29,us-east-1,\"{'Gpus': [,"], 2, "not valid CSV"),
])
def test_parse_rejects_a_malformed_file_naming_the_line(lines, line, words):
    with pytest.raises(InvalidCatalog) as caught:
        parse_text(*lines)
    assert caught.value.extra["line"] == line and words in caught.value.message
    assert caught.value.message.startswith(f"Line {line}:")


def test_parse_rejects_empty_and_non_utf8_files():
    with pytest.raises(InvalidCatalog, match="empty"):
        parse(catalog_text(b""))
    with pytest.raises(InvalidCatalog, match="Line 3: the file is not UTF-8"):
        catalog_text(LAMBDA_HEADER.encode() + b"\nok\n\xff\xfe,bad\n")
