"""The gates the delivery pipeline runs: each a library function returning a `runtime.report.Report`."""
