pytest_plugins = ["cpi_framework.testing"]
