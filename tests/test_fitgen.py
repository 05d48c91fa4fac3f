"""fitgen writes FIT files that fitparse 1.2.0 reads back exactly (and CRC-checks)."""
import io
from datetime import datetime, timedelta, timezone
from functools import reduce

import fitparse
import pytest
from fitparse.utils import FitCRCError
from hypothesis import given, settings, strategies as st

from tests import fitgen

UTC = timezone.utc
START = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)


def parse(data: bytes) -> dict[str, list[dict]]:
    """Given FIT bytes, return {message name: [field dicts]} (fully parsed, so the CRC is checked)."""
    out: dict[str, list[dict]] = {}
    for msg in fitparse.FitFile(io.BytesIO(data)).get_messages():
        out.setdefault(msg.name, []).append(msg.get_values())
    return out


def naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


def check_session(got: dict, s: fitgen.Session, sport: str, sub_sport: str) -> None:
    timer = s.elapsed_s if s.timer_s is None else s.timer_s
    assert got["start_time"] == naive(s.start)
    assert got["timestamp"] == naive(s.start) + timedelta(seconds=int(s.elapsed_s))  # whole seconds
    assert (got["sport"], got["sub_sport"]) == (sport, sub_sport)
    assert got["total_distance"] == s.distance_m
    assert got["total_elapsed_time"] == s.elapsed_s
    assert got["total_timer_time"] == timer
    assert got["avg_heart_rate"] == s.avg_hr
    assert got["total_ascent"] == s.ascent_m


def test_single_run():
    data = fitgen.run("2024-05-01T06:30:00Z", km=10, minutes=50, utc_offset_s=7200)
    m = parse(data)
    assert m["file_id"][0]["type"] == "activity"
    assert m["file_id"][0]["serial_number"] == 3900000001
    assert m["file_id"][0]["time_created"] == naive(START)
    (sess,) = m["session"]
    check_session(sess, fitgen.Session(START, distance_m=10000.0, elapsed_s=3000.0), "running", "generic")
    (act,) = m["activity"]
    end = naive(START) + timedelta(minutes=50)
    assert act["timestamp"] == end
    assert act["local_timestamp"] == end + timedelta(hours=2)
    assert act["num_sessions"] == 1 and act["total_timer_time"] == 3000.0
    assert m["device_info"][0]["device_index"] == "creator"
    assert "record" not in m


def test_header_layout():
    data = fitgen.run(START)
    assert data[0] == 14 and data[1] == 0x20 and data[8:12] == b".FIT"
    assert int.from_bytes(data[2:4], "little") == fitgen.PROFILE_VERSION
    assert int.from_bytes(data[4:8], "little") == len(data) - 16
    assert fitgen.crc16(data[:12]) == int.from_bytes(data[12:14], "little")
    assert fitgen.crc16(data) == 0  # CRC over everything including the trailing CRC is zero


def test_run_with_foot_pod_and_hr_strap():
    devices = [fitgen.Device(1, antplus_type=124, serial=123456, manufacturer=1, product=9),
               fitgen.Device(2, antplus_type=120, serial=777)]
    data = fitgen.run(START, 5, 30, sub_sport=1, devices=devices, utc_offset_s=None)
    m = parse(data)
    infos = m["device_info"]
    assert len(infos) == 3
    pods = [d for d in infos if "stride_speed_distance" in (d.get("antplus_device_type"), d.get("device_type"))]
    assert len(pods) == 1 and pods[0]["serial_number"] == 123456 and pods[0]["device_index"] == 1
    hrm = [d for d in infos if d.get("antplus_device_type") == "heart_rate"]
    assert len(hrm) == 1 and hrm[0]["serial_number"] == 777
    assert m["session"][0]["sub_sport"] == "treadmill"
    assert "local_timestamp" not in m["activity"][0]


def test_multisport_three_sessions():
    swim = fitgen.Session(START, sport=5, sub_sport=0, distance_m=1500.0, elapsed_s=1800.0, avg_hr=140, ascent_m=None)
    bike = fitgen.Session(swim.end + timedelta(minutes=3), sport=2, sub_sport=2, distance_m=40000.0,
                          elapsed_s=4000.0, timer_s=3900.0, avg_hr=150, ascent_m=310)
    run = fitgen.Session(bike.end + timedelta(minutes=2), sport=1, sub_sport=3, distance_m=10000.0,
                         elapsed_s=2700.5, avg_hr=160, ascent_m=45)
    data = fitgen.activity([swim, bike, run], utc_offset_s=-18000)
    m = parse(data)
    got = m["session"]
    assert [s["message_index"] for s in got] == [0, 1, 2]
    check_session(got[0], swim, "swimming", "generic")
    check_session(got[1], bike, "cycling", "street")
    assert got[2]["sport"] == "running" and got[2]["sub_sport"] == "trail"
    assert got[2]["total_elapsed_time"] == 2700.5
    act = m["activity"][0]
    assert act["num_sessions"] == 3
    assert act["total_timer_time"] == 1800.0 + 3900.0 + 2700.5
    assert act["local_timestamp"] == act["timestamp"] - timedelta(hours=5)


def test_none_values_read_as_none():
    s = fitgen.Session(START, sport=4, distance_m=None, avg_hr=None, ascent_m=None, records_every_s=60)
    dev = fitgen.Device(1, antplus_type=None, serial=None, product=None)
    m = parse(fitgen.activity([s], devices=[dev], serial=1))
    check_session(m["session"][0], s, "fitness_equipment", "generic")
    assert m["session"][0]["total_distance"] is None and m["session"][0]["avg_heart_rate"] is None
    assert m["device_info"][1]["serial_number"] is None and m["device_info"][1]["device_type"] is None
    recs = m["record"]
    assert len(recs) == 30
    assert all(r["distance"] is None and r["heart_rate"] is None and r["speed"] is None for r in recs)


@pytest.mark.parametrize("ftype, name, body", [(2, "settings", "user_profile"), (5, "workout", "workout"),
                                               (9, "weight", "weight_scale"), (6, "course", None)])
def test_non_activity(ftype, name, body):
    created = datetime(2023, 2, 3, 4, 5, 6, tzinfo=UTC)
    m = parse(fitgen.non_activity(ftype, serial=42, time_created=created))
    fid = m["file_id"][0]
    assert fid["type"] == name and fid["serial_number"] == 42 and fid["time_created"] == naive(created)
    assert "session" not in m and "activity" not in m
    if body:
        assert len(m[body]) == 1
    if ftype == 9:
        assert m["weight_scale"][0]["weight"] == 75.0
    if ftype == 2:
        assert m["user_profile"][0]["weight"] == 70.0


def test_one_hour_run_with_1s_records():
    data = fitgen.run(START, km=12, minutes=60, records_every_s=1, avg_hr=155)
    m = parse(data)
    recs = m["record"]
    assert len(recs) == 3600
    assert recs[0]["timestamp"] == naive(START) and recs[0]["distance"] == 0.0
    assert recs[-1]["timestamp"] == naive(START) + timedelta(seconds=3599)
    assert recs[1800]["distance"] == pytest.approx(6000.0, abs=0.01)
    assert recs[-1]["distance"] == pytest.approx(12000.0 * 3599 / 3600, abs=0.01)
    assert all(r["heart_rate"] == 155 and r["speed"] == pytest.approx(3.333, abs=1e-3) for r in recs)
    dists = [r["distance"] for r in recs]
    assert dists == sorted(dists)
    check_session(m["session"][0], fitgen.Session(START, distance_m=12000.0, elapsed_s=3600.0, avg_hr=155),
                  "running", "generic")


@pytest.mark.parametrize("pos", [-3, -700, 41])  # last data byte, a record value, file_id serial
def test_byte_flip_fails_crc(pos):
    data = bytearray(fitgen.run(START, records_every_s=10))
    parse(bytes(data))
    data[pos] ^= 0x01
    with pytest.raises(FitCRCError):
        parse(bytes(data))


def test_header_flip_fails_header_crc():
    data = bytearray(fitgen.run(START))
    data[2] ^= 0x01  # profile version
    with pytest.raises(FitCRCError):
        parse(bytes(data))


@given(st.binary(max_size=300), st.integers(0, 0xFFFF))
def test_crc16_matches_sdk_nibble_algorithm(data, init):
    assert fitgen.crc16(data, init) == reduce(fitgen._crc_nibble_byte, data, init)


@settings(max_examples=40, deadline=None)
@given(start=st.datetimes(datetime(2000, 1, 1), datetime(2035, 1, 1), timezones=st.just(UTC)),
       dist=st.none() | st.integers(0, 10_000_000).map(lambda cm: cm / 100),
       elapsed=st.integers(1, 86_400_000).map(lambda ms: ms / 1000),
       hr=st.none() | st.integers(30, 230), ascent=st.none() | st.integers(0, 9000),
       sport=st.sampled_from([(1, "running"), (2, "cycling"), (11, "walking"), (17, "hiking"), (10, "training")]),
       offset=st.integers(-12, 14).map(lambda h: h * 3600))
def test_roundtrip_property(start, dist, elapsed, hr, ascent, sport, offset):
    start = start.replace(microsecond=0)
    s = fitgen.Session(start, sport=sport[0], distance_m=dist, elapsed_s=elapsed, avg_hr=hr, ascent_m=ascent)
    m = parse(fitgen.activity([s], utc_offset_s=offset))
    check_session(m["session"][0], s, sport[1], "generic")
    act = m["activity"][0]
    assert act["local_timestamp"] - act["timestamp"] == timedelta(seconds=offset)
