"""Request-time refusals, apart from job errors.

`Refused` is what a view, a form or a domain function raises when a request cannot be done as asked (a bad value,
a state that does not allow it, a budget that would be passed). Its message is shown to the person as is, so it
never quotes a cell value. A job that fails while it runs raises `workbench.jobs.actions.JobError` instead; a
`Refused` raised inside a job fails the job with the same message.
"""


class Refused(Exception):
    """A request that cannot be done as asked; the message says why and is safe to show."""
