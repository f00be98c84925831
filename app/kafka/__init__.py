"""Kafka: the consumer that ingests sensor streams (consumer.py) and a local broker (local.py)."""
