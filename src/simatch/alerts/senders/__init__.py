"""One sender per channel: each turns a delivery into that channel's message and reports
whether it arrived (``simatch.domain.alerts.Sender``)."""
