"""The 网上商都 platform service specification as code: requirements as data, each decided by a check.

* ``data/<part>.toml`` holds the requirements of one part (PC 平台建设, IA 身份认证, …): id, statement in zh and en,
  source (law article or standard), provenance, severity, and — when no software check can decide it — why not.
* ``checks/<part>.py`` registers one function per checkable requirement with ``@check("PC-1")``; it looks at the
  tenant's configuration, its data, or its providers' conformance kits, and returns a ``Finding``.
* ``runner.run(tenant)`` decides every requirement for a tenant; ``flask spec check`` prints the report and exits
  non-zero when a "must" fails.
"""
