defmodule Oxbeam.Python.Sigil do
  @moduledoc false
  # Compile-time support of `~PY`: which names the Python code reads and which it
  # defines at module level, found with Python's own `ast` (run with the interpreter
  # the bridge is built against).

  @analyzer ~S"""
  import ast, sys

  tree = ast.parse(sys.stdin.read())
  loads, stores = set(), set()

  def store_targets(node):
      for sub in ast.walk(node):
          if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
              stores.add(sub.id)

  def top_level(statements):
      for stmt in statements:
          if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
              stores.add(stmt.name)
          elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
              for alias in stmt.names:
                  stores.add((alias.asname or alias.name).split(".")[0])
          elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
              for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
                  store_targets(target)
          elif isinstance(stmt, (ast.For, ast.AsyncFor)):
              store_targets(stmt.target)
          elif isinstance(stmt, (ast.With, ast.AsyncWith)):
              for item in stmt.items:
                  if item.optional_vars is not None:
                      store_targets(item.optional_vars)
          elif isinstance(stmt, ast.Try):
              for handler in stmt.handlers:
                  if handler.name:
                      stores.add(handler.name)
          for field in ("body", "orelse", "finalbody", "handlers"):
              inner = getattr(stmt, field, None)
              if isinstance(inner, list) and not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                  top_level([s for s in inner if isinstance(s, ast.stmt)] + [s for h in inner if isinstance(h, ast.ExceptHandler) for s in h.body])

  top_level(tree.body)
  for node in ast.walk(tree):
      if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
          loads.add(node.id)

  for name in sorted(loads):
      print("L " + name)
  for name in sorted(stores):
      print("S " + name)
  """

  @doc "The names `code` reads and the names it defines at module level."
  def analyze!(code) do
    {python, _version} = Oxbeam.Python.NIF.python_info()
    input = Path.join(System.tmp_dir!(), "oxbeam_sigil_#{System.unique_integer([:positive])}.py")
    File.write!(input, code)

    try do
      case System.cmd(
             python,
             [
               "-c",
               "import sys; sys.stdin = open(sys.argv[1]); exec(sys.argv[2])",
               input,
               @analyzer
             ],
             stderr_to_stdout: true
           ) do
        {output, 0} ->
          lines = String.split(output, "\n", trim: true)
          {for("L " <> name <- lines, do: name), for("S " <> name <- lines, do: name)}

        {output, _} ->
          raise CompileError, description: "~PY: the Python code does not parse:\n" <> output
      end
    after
      File.rm(input)
    end
  end
end
