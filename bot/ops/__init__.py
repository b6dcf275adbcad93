"""Operating the bot as a service: Prometheus metrics (:mod:`bot.ops.metrics`), the health, readiness
and metrics HTTP listener (:mod:`bot.ops.server`), readiness checks (:mod:`bot.ops.health`) and
database backups (:mod:`bot.ops.backup`)."""
