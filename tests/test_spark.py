"""The Spark recipe of docs/dask.md (mapInPandas), run only where pyspark (and Java) are installed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark")
pd = pytest.importorskip("pandas")

from triage.batch import predict_frame  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # Spark's Python workers must import triage from this checkout, with this interpreter.
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}  # fmt: skip
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("triage-test")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", "40")
            .getOrCreate()
        )
    except Exception as exc:  # no Java, no network loopback, ...
        pytest.skip(f"cannot start a local Spark session: {exc}")
    yield session
    session.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_map_in_pandas_recipe(spark):
    from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, StructField, StructType

    with open(ROOT / "datasets" / "test.jsonl", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh][:300]
    frame = pd.DataFrame({"id": range(len(texts) + 1), "text": pd.Series([*texts, None], dtype=object)})
    messages = spark.createDataFrame(frame).repartition(6)

    # --- the recipe (docs/dask.md), plus the worker pid and model identity for the check below
    def classify_batches(batches):
        import os

        from triage.api import default_model
        from triage.batch import predict_frame

        model = default_model()  # cached in triage.api: once per (reused) Python worker
        for batch in batches:
            out = predict_frame(batch, "text", model=model)
            out["pid"], out["model_id"] = os.getpid(), id(model)
            yield out

    schema = StructType(
        messages.schema.fields
        + [
            StructField("category", StringType()),
            StructField("urgency", StringType()),
            StructField("confidence", DoubleType()),
            StructField("needs_review", BooleanType()),
            StructField("flags", StringType()),
            StructField("pid", LongType()),
            StructField("model_id", LongType()),
        ]
    )
    result = messages.mapInPandas(classify_batches, schema=schema).toPandas().sort_values("id")

    expected = predict_frame(frame)
    assert result["id"].tolist() == expected["id"].tolist()  # every message exactly once
    for column in ("category", "urgency", "confidence", "needs_review", "flags"):
        assert result[column].tolist() == expected[column].tolist(), column
    assert (result.groupby("pid")["model_id"].nunique() == 1).all()  # one model per Python worker
