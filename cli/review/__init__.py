"""The review page: a small web application over the library for the clearance contact.

`provgate serve` runs it (Starlette + Jinja2, served by uvicorn). It reads the same store as the
command line and records approvals and revocations through the same library calls, so a
decision made on the page is indistinguishable from one typed as `provgate approve`.
"""
