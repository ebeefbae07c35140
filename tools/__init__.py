"""The agent's protein and drug tools (installed as ``bioagent.tools``).

Each tool is a plain function (``bioagent.tools.protein_properties.protein_properties`` ...) and a LangChain
tool built by :func:`bioagent.tools.registry.all_tools`. Importing this package loads no model.
"""
