"""privml.data: reading private records and generating the synthetic demo corpus."""

from privml.data.demo_corpus import CANARY_PREFIXES, PII_TYPES, DemoCorpus, generate_demo_corpus
from privml.data.records import DataError, ReadResult, Record, read_records

__all__ = [
    "CANARY_PREFIXES",
    "PII_TYPES",
    "DataError",
    "DemoCorpus",
    "ReadResult",
    "Record",
    "generate_demo_corpus",
    "read_records",
]
