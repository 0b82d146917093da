defmodule PythonPool do
  @moduledoc """
  A supervised pool of Python workers that survives a crashing C extension.

  `Oxbeam.Python.Pool` runs each interpreter in a worker OS process of its own (a BEAM
  node started and supervised by the pool). Code that crashes natively — a segfault
  in a C extension, `abort()`, the OOM killer — takes down only its worker: the
  caller gets an `Oxbeam.Python.RemoteError` saying why, the supervisor starts a
  replacement, and this VM goes on.

  The "fragile extension" here is `ctypes` (a C extension of the standard library)
  made to read address 0, as a buggy extension would.
  """

  alias Oxbeam.Python

  @pool PythonPool.Python

  @doc "The pool's name (given to `Oxbeam.Python.eval/3` as `pool:`)."
  def pool, do: @pool

  @doc """
  The CRC-32 of `data`, computed by `zlib` (a C extension) on a worker, with the
  worker's OS pid: `{crc, os_pid}`.
  """
  def crc32(data) when is_binary(data) do
    {result, _globals} =
      Python.eval("import os, zlib\n(zlib.crc32(data), os.getpid())", %{"data" => data},
        pool: @pool
      )

    Python.decode(result)
  end

  @doc """
  Runs the buggy native code on a worker: the worker crashes (SIGSEGV) and this raises
  `Oxbeam.Python.RemoteError` naming the pool and the cause.
  """
  def crash! do
    Python.eval("import ctypes\nctypes.string_at(0)", %{}, pool: @pool)
  end
end

defmodule PythonPool.Application do
  @moduledoc false
  use Application

  @pyproject """
  [project]
  name = "python-pool-example"
  version = "0.0.0"
  requires-python = ">=3.10"
  dependencies = []
  """

  @impl true
  def start(_type, _args) do
    children = [
      # Two worker OS processes, each with its own interpreter (and GIL). This VM
      # needs no interpreter of its own.
      {Oxbeam.Python.Pool, name: PythonPool.pool(), size: 2, pyproject_toml: @pyproject}
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: PythonPool.Supervisor)
  end
end
