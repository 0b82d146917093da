# The pool's workers are nodes: make this VM one (`--sname`/`--name` in a release),
# then start the application (mix test runs with --no-start, see mix.exs).
{_, 0} = System.cmd("epmd", ["-daemon"])
{:ok, _} = Node.start(:"python_pool_example_#{System.unique_integer([:positive])}@127.0.0.1")
{:ok, _} = Application.ensure_all_started(:python_pool)
ExUnit.start()
