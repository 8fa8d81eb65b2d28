"""bankctl: the ops engineer's command line over Kafka, Kafka Connect and the database."""
