"""Data-gate infrastructure: the Spark engine on EMR Serverless (`SparkValidation`)."""
