"""Packaging for triage.

The repository keeps the design card's layout: ``triage/`` (code), ``models/`` (shipped
trained models) and ``datasets/`` (the labelled corpus) at top level. ``package_dir`` maps
the two data folders into the installed package as ``triage.models`` and ``triage.corpus``,
so an installed triage finds its model and corpus through ``importlib.resources`` from any
working directory.
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
version = {}
exec((ROOT / "triage" / "_version.py").read_text(encoding="utf-8"), version)

setup(
    name="triage",
    version=version["__version__"],
    description="Category and urgency of Chinese police–resident group-chat messages (jieba + scikit-learn)",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8") if (ROOT / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=["triage", "triage.data", "triage.readers", "triage.ledger", "triage.models", "triage.corpus"],
    package_dir={"triage": "triage", "triage.models": "models", "triage.corpus": "datasets"},
    package_data={
        "triage.data": ["*.txt", "*.json"],
        "triage.models": ["*/model.joblib", "*/compiled.npz", "*/manifest.json"],
        "triage.corpus": ["train.jsonl", "test.jsonl", "README.md"],
        "triage.ledger": ["*.html", "*.js", "*.css"],
    },
    install_requires=[
        "jieba>=0.42.1",
        "scikit-learn>=1.5",
        "joblib>=1.3",
        "numpy>=1.24",
        "scipy>=1.10",
        "opencc>=1.1.6",
        "rjieba>=0.2",
        "tqdm>=4.60",
    ],
    extras_require={
        "pandas": ["pandas>=2.0"],
        "dask": ["dask[dataframe]>=2024.1", "distributed>=2024.1", "pandas>=2.0", "pyarrow>=14"],
        "eval": ["matplotlib>=3.7"],
        "test": ["pytest>=7", "hypothesis>=6.80", "pandas>=2.0", "matplotlib>=3.7"],
    },
    entry_points={"console_scripts": ["triage=triage.cli:main"]},
    zip_safe=False,
)
