defmodule PythonPool.MixProject do
  use Mix.Project

  def project do
    [
      app: :python_pool,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: [{:oxbeam_python, path: "../../elixir/oxbeam_python"}],
      # The pool's workers are nodes: the tests make this VM a distributed node
      # first (test/test_helper.exs), then start the application.
      aliases: [test: "test --no-start"]
    ]
  end

  def application, do: [extra_applications: [:logger], mod: {PythonPool.Application, []}]
end
