"""The newer aggregates (issue 14): median, percentile, stddev, stddev_pop,
count_distinct, value_at_max and value_at_min in summary and groups; and every aggregate
in compute, over the input or its `per=` partition. Run on real DuckDB over small inputs;
the answers are worked out by hand in the comments."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from codegen.sql_support import run, spec_model
from scriptexec.codegen.model import program_model
from scriptexec.spec.model import load_spec

SPECS = Path(__file__).resolve().parents[2] / "specs"


def summary_of(
    tmp_path: Path, fields: dict[str, str], summary: dict[str, str], data: list[dict[str, Any]]
) -> dict[str, Any]:
    return run(spec_model(tmp_path, fields=fields, summary=summary), data).summary


def test_median_and_percentile_interpolate_linearly(tmp_path: Path) -> None:
    data = [{"x": v} for v in (10, 1, 8, 3)]
    got = summary_of(
        tmp_path,
        {"x": "integer"},
        {
            "middle": "median(x)",
            "p75": "percentile(x, 75)",
            "p0": "percentile(x, 0)",
            "p100": "percentile(x, 100)",
            "p12_5": "percentile(x, 12.5)",
        },
        data,
    )
    # sorted 1 3 8 10: median (3 + 8) / 2 = 5.5 (a number, though x is an integer)
    assert got["middle"] == 5.5 and type(got["middle"]) is float
    # p75: rank 0.75 * 3 = 2.25 -> 8 + 0.25 * (10 - 8) = 8.5; p0 the least, p100 the most;
    # p12.5: rank 0.375 -> 1 + 0.375 * (3 - 1) = 1.75
    assert (got["p75"], got["p0"], got["p100"], got["p12_5"]) == (8.5, 1.0, 10.0, 1.75)
    got = summary_of(
        tmp_path,
        {"x": "number"},
        {"p75": "percentile(x, 75)", "m": "median(x)"},
        [{"x": v} for v in (1.0, 2.0, 3.0, 4.0, 100.0)][:4],
    )
    # 1 2 3 4: rank 2.25 -> 3 + 0.25 * (4 - 3) = 3.25; median (2 + 3) / 2 = 2.5
    assert (got["p75"], got["m"]) == (3.25, 2.5)
    got = summary_of(tmp_path, {"x": "number"}, {"m": "median(x)"}, [{"x": v} for v in (1, 8, 3)])
    assert got["m"] == 3.0  # an odd count: the middle one


def test_standard_deviations(tmp_path: Path) -> None:
    data = [{"x": v} for v in (2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0)]
    got = summary_of(
        tmp_path, {"x": "number"}, {"sample": "stddev(x)", "population": "stddev_pop(x)"}, data
    )
    # mean 40 / 8 = 5; squared deviations 9 + 1 + 1 + 1 + 0 + 0 + 4 + 16 = 32;
    # sample: sqrt(32 / 7) = 2.1380899...; population: sqrt(32 / 8) = 2
    assert math.isclose(got["sample"], math.sqrt(32 / 7), rel_tol=1e-12)
    assert got["population"] == 2.0
    one = summary_of(
        tmp_path,
        {"x": "number"},
        {"sample": "stddev(x)", "population": "stddev_pop(x)"},
        [{"x": 3.0}],
    )
    # one value: no sample deviation (missing, not an error); its population's is 0
    assert (one["sample"], one["_e_sample"], one["population"]) == (None, None, 0.0)


def test_count_distinct_skips_missing_values(tmp_path: Path) -> None:
    data = [{"c": "a", "n": 1}, {"c": "b", "n": 1}, {"c": "a", "n": 2}, {"c": None, "n": 1}]
    got = summary_of(
        tmp_path,
        {"c": "string?", "n": "integer"},
        {
            "cities": "count_distinct(c)",
            "numbers": "count_distinct(n)",
            "tens": "count_distinct(n > 5)",
        },
        data,
    )
    # a, b (the missing one is not a value); 1, 2; n > 5 is false everywhere: one value
    assert (got["cities"], got["numbers"], got["tens"]) == (2, 2, 1)
    assert type(got["cities"]) is int
    empty = summary_of(tmp_path, {"c": "string?"}, {"cities": "count_distinct(c)"}, [])
    assert empty["cities"] == 0


def test_value_at_max_and_min_take_the_first_of_ties(tmp_path: Path) -> None:
    data = [
        {"name": "A", "noi": 5.0, "units": 10},
        {"name": "B", "noi": 9.0, "units": 20},
        {"name": "C", "noi": 9.0, "units": 30},
        {"name": "D", "noi": None, "units": 40},
        {"name": None, "noi": 1.0, "units": 50},
        {"name": "F", "noi": 1.0, "units": 60},
    ]
    got = summary_of(
        tmp_path,
        {"name": "string?", "noi": "number?", "units": "integer"},
        {
            "best": "value_at_max(name, noi)",
            "worst": "value_at_min(name, noi)",
            "units_of_best": "value_at_max(units, noi)",
            "most_units": "value_at_max(name, units)",
        },
        data,
    )
    # noi 9 on B and C: B comes first; D has no noi (skipped); the least noi, 1, is on the
    # nameless row and on F: the nameless one is skipped, so F
    assert (got["best"], got["worst"], got["units_of_best"]) == ("B", "F", 20)
    assert type(got["units_of_best"]) is int
    assert got["most_units"] == "F"  # 60; the row with 50 has no name


def test_in_groups_rows_in_error_are_left_out(tmp_path: Path) -> None:
    m = spec_model(
        tmp_path,
        fields={"market": "string", "rent": "number", "beds": "integer", "sqft": "number"},
        compute={"rent_psf": "rent / sqft"},
        groups={
            "by": "market",
            "summary": {
                "median_rent": "median(rent)",
                "p75_psf": "percentile(rent_psf, 75)",
                "spread": "stddev(rent)",
                "bed_types": "count_distinct(beds)",
                "largest": "value_at_max(beds, sqft)",
            },
        },
    )
    data = [
        {"market": "a", "rent": 1000.0, "beds": 1, "sqft": 500.0},
        {"market": "a", "rent": 2000.0, "beds": 2, "sqft": 1000.0},
        {"market": "a", "rent": 9999.0, "beds": 3, "sqft": 0.0},  # rent_psf fails
        {"market": "b", "rent": 1200.0, "beds": 1, "sqft": 400.0},
    ]
    groups = run(m, data).groups
    assert groups is not None
    a, b = groups
    # a without the failing row: rents 1000 2000: median 1500; psf 2 and 2: p75 2;
    # stddev sqrt(((-500)^2 + 500^2) / 1) = 707.10678...; beds 1, 2; largest: 1000 sqft, 2
    assert (a["market"], a["median_rent"], a["p75_psf"], a["bed_types"], a["largest"]) == (
        "a",
        1500.0,
        2.0,
        2,
        2,
    )
    assert math.isclose(a["spread"], math.sqrt(500_000), rel_tol=1e-12)
    # b: one row: stddev of one value is missing
    assert (b["median_rent"], b["p75_psf"], b["spread"], b["bed_types"]) == (1200.0, 3.0, None, 1)


def test_an_argument_failing_on_a_row_is_the_values_error(tmp_path: Path) -> None:
    got = summary_of(
        tmp_path,
        {"a": "number", "b": "number"},
        {"middle": "median(a / b)", "spread": "stddev(a)"},
        [{"a": 1.0, "b": 1.0}, {"a": 2.0, "b": 0.0}, {"a": 3.0, "b": 1.0}],
    )
    assert (got["middle"], got["_e_middle"]) == (None, "division by zero in middle")
    assert got["spread"] == 1.0  # 1 2 3: sqrt((1 + 0 + 1) / 2) = 1


def test_aggregates_in_compute_are_over_the_input_or_the_partition(tmp_path: Path) -> None:
    data = [
        {"market": "a", "rent": 1000.0, "beds": 1, "occupied": True},
        {"market": "b", "rent": 800.0, "beds": 1, "occupied": False},
        {"market": "a", "rent": 1400.0, "beds": 2, "occupied": True},
        {"market": "a", "rent": 1200.0, "beds": 2, "occupied": False},
        {"market": "b", "rent": 900.0, "beds": 2, "occupied": True},
    ]
    rows = run(
        spec_model(
            tmp_path,
            fields={"market": "string", "rent": "number", "beds": "integer", "occupied": "boolean"},
            compute={
                "vs_median": "rent / median(rent, per=market)",
                "share": "rent / sum(rent)",
                "units": "count(per=market)",
                "let": "count(occupied, per=market)",
                "cheapest": "min(rent, per=market)",
                "average": "mean(rent)",
                "p75": "percentile(rent, 75, per=market)",
                "spread": "stddev_pop(rent, per=market)",
                "types": "count_distinct(beds, per=market)",
                "top_beds": "value_at_max(beds, rent, per=market)",
                "bounded": "min(rent, 1100)",  # two arguments: the scalar, as before
            },
        ),
        data,
    ).rows
    # a: 1000 1400 1200, median 1200; b: 800 900, median 850
    assert [r["vs_median"] for r in rows] == [
        1000 / 1200,
        800 / 850,
        1400 / 1200,
        1.0,
        900 / 850,
    ]
    # the total is 5300
    assert [r["share"] for r in rows] == [r["rent"] / 5300 for r in rows]
    assert [r["units"] for r in rows] == [3, 2, 3, 3, 2]
    assert [r["let"] for r in rows] == [2, 1, 2, 2, 1]
    assert [r["cheapest"] for r in rows] == [1000.0, 800.0, 1000.0, 1000.0, 800.0]
    assert {r["average"] for r in rows} == {5300 / 5}
    # a sorted 1000 1200 1400: rank 1.5 -> 1200 + 0.5 * 200 = 1300; b: 800 + 0.75 * 100
    assert [r["p75"] for r in rows] == [1300.0, 875.0, 1300.0, 1300.0, 875.0]
    # b: mean 850, deviations 50 and 50: sqrt(5000 / 2) = 50
    assert rows[1]["spread"] == 50.0
    assert [r["types"] for r in rows] == [2, 2, 2, 2, 2]
    assert [r["top_beds"] for r in rows] == [2, 2, 2, 2, 2]  # 1400 has 2 beds; 900 too
    assert [r["bounded"] for r in rows] == [1000.0, 800.0, 1100.0, 1100.0, 900.0]
    assert all(r["error"] is None for r in rows)


def test_a_compute_aggregate_sees_the_values_as_computed(tmp_path: Path) -> None:
    data = [
        {"noi": 100.0, "debt": 50.0, "sqft": 10.0},
        {"noi": 300.0, "debt": 0.0, "sqft": 10.0},  # dscr fails
        {"noi": 200.0, "debt": 100.0, "sqft": 0.0},  # psf fails
    ]
    rows = run(
        spec_model(
            tmp_path,
            fields={"noi": "number", "debt": "number", "sqft": "number"},
            compute={
                "dscr": "noi / debt",
                "vs_mean_dscr": "dscr / mean(dscr)",
                "noi_share": "noi / sum(noi)",
                "psf": "noi / sqft",
            },
        ),
        data,
    ).rows
    # dscr: 2, (failed: skipped), 2: mean 2; each noi counts, its row's error or not: 600
    assert [r["vs_mean_dscr"] for r in rows] == [1.0, None, 1.0]
    assert [r["noi_share"] for r in rows] == [100 / 600, 300 / 600, 200 / 600]
    assert [r["error"] for r in rows] == [
        None,
        "division by zero in dscr",
        "division by zero in psf",
    ]


def test_the_shipped_rent_benchmark_groups(tmp_path: Path) -> None:
    m = program_model(load_spec(SPECS / "rent_benchmark.yaml"))
    data = [
        {"unit_id": "A1", "market": "Austin", "bedrooms": 1, "monthly_rent": 1000.0},
        {"unit_id": "B1", "market": "Boise", "bedrooms": 1, "monthly_rent": 800.0},
        {"unit_id": "A2", "market": "Austin", "bedrooms": 1, "monthly_rent": 1200.0},
        {"unit_id": "A3", "market": "Austin", "bedrooms": 2, "monthly_rent": 1400.0},
        {"unit_id": "B2", "market": "Boise", "bedrooms": 2, "monthly_rent": 900.0},
        {"unit_id": "A4", "market": "Austin", "bedrooms": 3, "monthly_rent": 2000.0},
    ]
    groups = run(m, data).groups
    assert groups is not None
    austin, boise = ({k: v for k, v in g.items() if not k.startswith("_")} for g in groups)
    # Austin 1000 1200 1400 2000: median 1300; p75 1400 + 0.25 * 600 = 1550; mean 1400,
    # deviations -400 -200 0 600: sqrt((160000 + 40000 + 0 + 360000) / 3) = 432.049...;
    # 1, 2 and 3 bedrooms; above p75: 2000
    spread = austin.pop("rent_stddev")
    assert austin == {
        "market": "Austin",
        "units": 4,
        "median_rent": 1300.0,
        "p75_rent": 1550.0,
        "bedroom_types": 3,
        "above_p75": 1,
    }
    assert math.isclose(spread, math.sqrt(560_000 / 3), rel_tol=1e-12)
    # Boise 800 900: median 850; p75 875; deviations 50 and 50: sqrt(5000 / 1) = 70.71...
    assert math.isclose(boise.pop("rent_stddev"), math.sqrt(5000), rel_tol=1e-12)
    assert boise == {
        "market": "Boise",
        "units": 2,
        "median_rent": 850.0,
        "p75_rent": 875.0,
        "bedroom_types": 2,
        "above_p75": 1,
    }


def test_where_restricts_an_aggregate_to_the_rows_it_holds_for(tmp_path: Path) -> None:
    fields = {"year": "integer", "c": "number", "k": "string", "opt": "number?"}
    summary = {
        "payback": "min(year, where=c >= 0)",
        "positive": "count(where=c > 0)",
        "later_median": "median(c, where=year > 2021)",
        "opt_sum": "sum(opt, where=c > 0)",
        "never": "max(year, where=c > 100)",
    }
    groups = {"by": "k", "summary": {"first_positive": "min(year, where=c > 0)"}}
    model = spec_model(tmp_path, fields=fields, summary=summary, groups=groups)
    data = [
        {"year": 2021, "c": -5, "k": "a", "opt": None},
        {"year": 2022, "c": 3, "k": "a", "opt": None},
        {"year": 2023, "c": 7, "k": "b", "opt": 2},
    ]
    result = run(model, data)
    s = result.summary
    # c >= 0 from 2022: the smallest such year, an integer as year is
    assert s["payback"] == 2022 and isinstance(s["payback"], int)
    assert s["positive"] == 2  # 3 and 7
    assert s["later_median"] == 5.0  # median of 3 and 7
    # opt where c > 0: 2022's is empty (left out, counted), 2023's is 2; 2021 is not
    # counted at all, so its empty opt is not "left out"
    assert (s["opt_sum"], s["_n_opt_sum"]) == (2.0, 1)
    assert s["never"] is None and s["_e_never"] is None  # no row: missing, no error
    # per group: a's first positive year is 2022, b's 2023
    assert [(g["k"], g["first_positive"]) for g in result.groups or []] == [
        ("a", 2022),
        ("b", 2023),
    ]
