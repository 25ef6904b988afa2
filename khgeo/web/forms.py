"""Forms shared by the HTML pages."""

from flask_wtf import FlaskForm


class CsrfForm(FlaskForm):
    """For pages whose fields the template renders and a service checks: this carries only the CSRF token."""
