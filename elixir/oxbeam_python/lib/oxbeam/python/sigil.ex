defmodule Oxbeam.Python.Sigil do
  @moduledoc false
  # Compile-time support of `~PY`: which names the Python code reads from its globals
  # before defining them and which it defines at module level, found with Python's
  # own `ast` and its scoping rules (run with the interpreter this VM initialized, or
  # python3): the same variables go in and come out as with Pythonx's sigil.

  @analyzer ~S"""
  import ast, builtins, sys

  # Which names Python code run as a module reads from its globals before defining them
  # (they are taken from Elixir variables of the same name) and which it defines at
  # module level (they become Elixir variables).


  class Scope:
      def __init__(self, kind, names=()):
          self.kind = kind  # "module", "function", "class", "comprehension"
          self.names = set(names)


  class Analyzer(ast.NodeVisitor):
      def __init__(self):
          self.module = Scope("module")
          self.scopes = [self.module]
          self.reads = set()
          self.hidden = []  # names bound by `except ... as name` while in the handler

      # Names

      def bind(self, name):
          scope = self.scopes[-1]
          if scope.kind == "function" and name in scope.globals:
              self.module.names.add(name)
          scope.names.add(name)

      def read(self, name):
          if name in self.hidden:
              return
          for scope in reversed(self.scopes):
              # A class body's names are not seen from the functions inside it.
              if scope.kind == "class" and scope is not self.scopes[-1]:
                  continue
              if name in scope.names:
                  return
          self.reads.add(name)

      def visit_Name(self, node):
          if isinstance(node.ctx, ast.Load):
              self.read(node.id)
          elif isinstance(node.ctx, ast.Store):
              self.bind(node.id)

      # Statements whose right side runs first

      def visit_Assign(self, node):
          self.visit(node.value)
          for target in node.targets:
              self.visit(target)

      def visit_AugAssign(self, node):
          self.visit(node.value)
          if isinstance(node.target, ast.Name):
              self.read(node.target.id)
          self.visit(node.target)

      def visit_AnnAssign(self, node):
          if node.value is not None:
              self.visit(node.value)
          self.visit(node.annotation)
          self.visit(node.target)

      def visit_NamedExpr(self, node):
          self.visit(node.value)
          # := in a comprehension binds in the enclosing function or module.
          index = len(self.scopes) - 1
          while self.scopes[index].kind == "comprehension":
              index -= 1
          saved, self.scopes = self.scopes, self.scopes[: index + 1]
          self.visit(node.target)
          self.scopes = saved

      def visit_For(self, node):
          self.visit(node.iter)
          self.visit(node.target)
          for stmt in node.body + node.orelse:
              self.visit(stmt)

      visit_AsyncFor = visit_For

      def visit_Import(self, node):
          for alias in node.names:
              self.bind(alias.asname or alias.name.split(".")[0])

      def visit_ImportFrom(self, node):
          for alias in node.names:
              if alias.name != "*":
                  self.bind(alias.asname or alias.name)

      def visit_Global(self, node):
          self.scopes[-1].globals.update(node.names)

      def visit_ExceptHandler(self, node):
          if node.type is not None:
              self.visit(node.type)
          # Python unbinds the name when the handler ends: it is not a global the code
          # defines, and an Elixir variable of that name is neither read nor replaced.
          if node.name:
              self.hidden.append(node.name)
          for stmt in node.body:
              self.visit(stmt)
          if node.name:
              self.hidden.pop()

      # Patterns

      def visit_MatchAs(self, node):
          if node.pattern is not None:
              self.visit(node.pattern)
          if node.name is not None:
              self.bind(node.name)

      def visit_MatchStar(self, node):
          if node.name is not None:
              self.bind(node.name)

      def visit_MatchMapping(self, node):
          for key in node.keys:
              self.visit(key)
          for pattern in node.patterns:
              self.visit(pattern)
          if node.rest is not None:
              self.bind(node.rest)

      # New scopes

      def function(self, node, args, body):
          # Defaults, decorators and annotations run in the enclosing scope.
          for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
              self.visit(default)
          for decorator in getattr(node, "decorator_list", []):
              self.visit(decorator)
          every = args.posonlyargs + args.args + args.kwonlyargs
          every += [a for a in (args.vararg, args.kwarg) if a is not None]
          for arg in every:
              if arg.annotation is not None:
                  self.visit(arg.annotation)
          if getattr(node, "returns", None) is not None:
              self.visit(node.returns)
          if hasattr(node, "name"):
              self.bind(node.name)
          scope = Scope("function", (a.arg for a in every))
          scope.globals = set()
          # A name assigned anywhere in a function is local to all of it.
          for stmt in body if isinstance(body, list) else [body]:
              for sub in local_nodes(stmt):
                  if isinstance(sub, ast.Global):
                      scope.globals.update(sub.names)
                  elif isinstance(sub, ast.Nonlocal):
                      scope.globals.difference_update(sub.names)
          for stmt in body if isinstance(body, list) else [body]:
              for sub in local_nodes(stmt):
                  name = stored_name(sub)
                  if name is not None and name not in scope.globals:
                      scope.names.add(name)
          self.scopes.append(scope)
          for stmt in body if isinstance(body, list) else [body]:
              self.visit(stmt)
          self.scopes.pop()

      def visit_FunctionDef(self, node):
          self.function(node, node.args, node.body)

      visit_AsyncFunctionDef = visit_FunctionDef

      def visit_Lambda(self, node):
          self.function(node, node.args, node.body)

      def visit_ClassDef(self, node):
          for expr in node.decorator_list + node.bases + [k.value for k in node.keywords]:
              self.visit(expr)
          scope = Scope("class")
          scope.globals = set()
          self.scopes.append(scope)
          for stmt in node.body:
              self.visit(stmt)
          self.scopes.pop()
          self.bind(node.name)

      def comprehension(self, node, elements):
          generators = node.generators
          # The first iterable runs in the enclosing scope.
          self.visit(generators[0].iter)
          scope = Scope("comprehension")
          scope.globals = set()
          self.scopes.append(scope)
          for index, generator in enumerate(generators):
              if index > 0:
                  self.visit(generator.iter)
              self.visit(generator.target)
              for condition in generator.ifs:
                  self.visit(condition)
          for element in elements:
              self.visit(element)
          self.scopes.pop()

      def visit_ListComp(self, node):
          self.comprehension(node, [node.elt])

      visit_SetComp = visit_GeneratorExp = visit_ListComp

      def visit_DictComp(self, node):
          self.comprehension(node, [node.key, node.value])


  def local_nodes(node):
      # The nodes of a function body that belong to its own scope (not to functions,
      # classes, lambdas or comprehensions inside it).
      stack = [node]
      while stack:
          node = stack.pop()
          yield node
          for child in ast.iter_child_nodes(node):
              if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                  yield child
                  continue
              if isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                  continue
              stack.append(child)


  def stored_name(node):
      if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
          return node.id
      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
          return node.name
      if isinstance(node, ast.arg):
          return node.arg
      if isinstance(node, (ast.MatchAs, ast.MatchStar)):
          return node.name
      if isinstance(node, ast.MatchMapping):
          return node.rest
      if isinstance(node, ast.ExceptHandler):
          return node.name
      return None


  Scope.globals = frozenset()

  tree = ast.parse(sys.stdin.read())
  analyzer = Analyzer()
  for stmt in tree.body:
      analyzer.visit(stmt)
  defined = analyzer.module.names
  # Names that are only builtins are Python's: an Elixir variable of the same name is not
  # passed in unless the code assigns that name itself.
  reads = {name for name in analyzer.reads if name in defined or not hasattr(builtins, name)}

  for name in sorted(reads):
      print("L " + name)
  for name in sorted(defined):
      print("S " + name)
  """

  # The interpreter this VM initialized (its `ast`), else the `python3` on PATH.
  defp python! do
    :persistent_term.get({Oxbeam.Python, :executable}, nil) || System.find_executable("python3") ||
      raise CompileError,
        description:
          "~PY analyzes the Python code at compile time and needs a Python interpreter: " <>
            "initialize Oxbeam.Python first, or put python3 on PATH"
  end

  @doc "The names `code` reads and the names it defines at module level."
  def analyze!(code) do
    python = python!()
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
