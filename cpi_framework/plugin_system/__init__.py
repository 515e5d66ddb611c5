"""The plugin machinery: finding installed plugins, choosing the active chain, calling its hooks.

* :mod:`~cpi_framework.plugin_system.entry_point_scan` reads the ``cpi_framework`` entry points
  of the installed distributions (cheaply: no ``importlib.metadata`` on the CPI's path);
* :mod:`~cpi_framework.plugin_system.manager` discovers the plugins by name and resolves the
  selected one and the chain it ``extends``, base first;
* :mod:`~cpi_framework.plugin_system.host` is what the methods see (``ctx.plugins``): typed
  calls to each hook, errors naming the plugin;
* :mod:`~cpi_framework.plugin_system.markers` are the ``hookimpl``/hookspec markers, read
  without pluggy, and :mod:`~cpi_framework.plugin_system.pluggy_manager` the pluggy manager
  that runs the hooks, imported by the first hook call only.

What plugin authors import stays outside: :mod:`cpi_framework.hookspecs` (``hookimpl``) and
:mod:`cpi_framework.types`.
"""
