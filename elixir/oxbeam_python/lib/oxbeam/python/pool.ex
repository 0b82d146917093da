defmodule Oxbeam.Python.Pool do
  @moduledoc """
  A supervised pool of Python interpreters, each in its own OS process: a peer BEAM
  node with `:oxbeam_python` and its own interpreter. `Oxbeam.Python.eval(code, globals,
  pool: MyPool)` runs on a worker; the objects it returns are remote objects pinned to
  that worker (`decode/1`, `inspect/1` and evals with them go there).

      children = [
        {Oxbeam.Python.Pool, name: MyApp.Python, size: 2, pyproject_toml: pyproject}
      ]

      {result, _} = Oxbeam.Python.eval("sum(range(10))", %{}, pool: MyApp.Python)
      Oxbeam.Python.decode(result)  #=> 45

  Why: one interpreter per worker means one GIL per worker (pure-Python CPU work runs
  in parallel across workers), and a worker that dies — a native crash in a C
  extension, `os.abort()`, `os._exit/1`, the OOM killer — takes down only itself: the
  callers it was serving get `Oxbeam.Python.RemoteError` naming the pool and the cause,
  objects that lived on it raise `Oxbeam.Python.RemoteError` when used, and the
  supervisor starts a replacement. The calling node and the other workers go on.

  The calling node must be distributed (`--sname`/`--name`, or `Node.start/2`): the
  workers are connected to it with Erlang distribution (as hidden nodes, on the same
  host, with the same cookie and code paths).

  ## Options

    * `:name` (required) - the pool's name, an atom, given to `eval/3`'s `:pool`.
    * `:size` - how many worker OS processes to start.
    * `:nodes` - instead of `:size`: already running nodes (with `:oxbeam_python`) to use as
      workers, e.g. on other machines. They are not restarted: a node that goes down
      is retried every second and used again once it is back.
    * `:pyproject_toml` - each worker calls `Oxbeam.Python.uv_init/2` with it (the
      environment is cached, so workers share one venv); or `:python`, an executable
      for `Oxbeam.Python.init/1`. Default: the interpreter this node was initialized
      with.
    * `:boot_timeout` - milliseconds for a worker to start (default 60 000).
    * `:erl_args` - more command-line arguments for the workers' `erl` (strings), e.g.
      emulator flags such as `["+sbwtdio", "long"]`.
    * `:max_restarts`, `:max_seconds` - the supervisor's restart intensity (default
      100 restarts in 60 s): a crashing eval restarts its worker, so the default is
      higher than a supervisor's.

  ## Routing

  An eval goes to the worker with the least outstanding evals (among equals, the one
  the calling process used last) — or, when its globals hold objects of one of the
  pool's workers, to that worker (objects stay where they live). A worker that is starting is not chosen; when none is up, an eval waits for
  one (up to `:boot_timeout`). `:timeout` and the death of the calling process stop
  the eval on the worker as in-process.
  """
  use Supervisor

  alias Oxbeam.Python.{Remote, RemoteError}
  alias Oxbeam.Python.Pool.Worker

  @options [
    :name,
    :size,
    :nodes,
    :pyproject_toml,
    :python,
    :boot_timeout,
    erl_args: [],
    max_restarts: 100,
    max_seconds: 60
  ]

  @doc false
  def child_spec(opts) do
    %{
      id: {__MODULE__, Keyword.get(opts, :name)},
      start: {__MODULE__, :start_link, [opts]},
      type: :supervisor
    }
  end

  @doc "Starts the pool (see the module doc for the options)."
  @spec start_link(keyword()) :: Supervisor.on_start()
  def start_link(opts) do
    opts = Keyword.validate!(opts, @options)
    name = opts[:name]

    if not is_atom(name) or name == nil,
      do: raise(ArgumentError, "Oxbeam.Python.Pool: :name must be an atom, got: #{inspect(name)}")

    if not Node.alive?() do
      raise ArgumentError,
            "Oxbeam.Python.Pool needs a distributed node (its workers are nodes): start " <>
              "this one with --sname or --name, or call Node.start/2 first"
    end

    workers =
      case {opts[:size], opts[:nodes]} do
        {size, nil} when is_integer(size) and size > 0 ->
          for index <- 1..size, do: {:start, index}

        {nil, [_ | _] = nodes} ->
          if Enum.all?(nodes, &is_atom/1),
            do: Enum.with_index(nodes, 1) |> Enum.map(fn {node, i} -> {:node, i, node} end),
            else: raise(ArgumentError, "Oxbeam.Python.Pool: :nodes must be node names")

        _ ->
          raise ArgumentError,
                "Oxbeam.Python.Pool: give either :size (a positive integer) or :nodes (a " <>
                  "non-empty list of node names), got: size: #{inspect(opts[:size])}, " <>
                  "nodes: #{inspect(opts[:nodes])}"
      end

    setup = python_setup(opts)
    Supervisor.start_link(__MODULE__, {name, workers, setup, opts}, name: name)
  end

  defp python_setup(opts) do
    case {opts[:pyproject_toml], opts[:python]} do
      {nil, nil} ->
        case :persistent_term.get({Oxbeam.Python, :executable}, nil) do
          nil ->
            raise ArgumentError,
                  "Oxbeam.Python.Pool: give :pyproject_toml or :python (this node's " <>
                    "interpreter is not initialized, so there is none to copy)"

          python ->
            {:init, python}
        end

      {pyproject, nil} when is_binary(pyproject) ->
        {:uv_init, pyproject}

      {nil, python} when is_binary(python) ->
        {:init, python}

      _ ->
        raise ArgumentError,
              "Oxbeam.Python.Pool: give :pyproject_toml or :python (a string), not both"
    end
  end

  @impl true
  def init({name, workers, setup, opts}) do
    # Owned by the pool's supervisor: they live as long as the pool.
    workers_table = :"#{inspect(name)}.oxbeam_python_pool_workers"
    leases_table = :"#{inspect(name)}.oxbeam_python_pool_leases"
    :ets.new(workers_table, [:named_table, :public, read_concurrency: true])
    :ets.new(leases_table, [:named_table, :public, write_concurrency: true])
    Remote.Tracker.pool_nodes()

    boot_timeout = opts[:boot_timeout] || 60_000
    # Read on every eval (no atom built per call); the same value on a restart.
    :persistent_term.put({__MODULE__, name}, {workers_table, leases_table, boot_timeout})

    children =
      for worker <- workers do
        index = elem(worker, 1)

        Supervisor.child_spec({Worker, {name, worker, setup, {boot_timeout, opts[:erl_args]}}},
          id: {Worker, index},
          shutdown: 10_000
        )
      end

    Supervisor.init(children,
      strategy: :one_for_one,
      max_restarts: opts[:max_restarts],
      max_seconds: opts[:max_seconds]
    )
  end

  @doc false
  def workers_table(pool), do: elem(settings!(pool), 0)
  @doc false
  def leases_table(pool), do: elem(settings!(pool), 1)

  defp settings!(pool) do
    case :persistent_term.get({__MODULE__, pool}, nil) do
      nil -> raise ArgumentError, "no Oxbeam.Python.Pool named #{inspect(pool)} is running"
      settings -> settings
    end
  end

  @doc """
  The worker nodes of `pool` that are up, with their outstanding evals:
  `[{node, outstanding}]`.
  """
  @spec workers(atom()) :: [{node(), non_neg_integer()}]
  def workers(pool) do
    for {node, _index, outstanding} <- :ets.tab2list(table!(pool)), do: {node, outstanding}
  end

  @doc false
  def eval(pool, code, globals, opts) when is_atom(pool) do
    pinned = if is_map(globals), do: pinned_node(pool, globals)
    deadline = System.monotonic_time(:millisecond) + boot_wait(pool)
    {node, lease} = checkout(pool, pinned, deadline)

    try do
      Remote.eval(node, code, globals, opts, pool)
    after
      checkin(pool, node, lease)
    end
  end

  def eval(pool, _code, _globals, _opts),
    do:
      raise(
        ArgumentError,
        "pool: expected the name of an Oxbeam.Python.Pool, got: #{inspect(pool)}"
      )

  defp table!(pool) do
    table = workers_table(pool)

    if :ets.whereis(table) == :undefined,
      do: raise(ArgumentError, "no Oxbeam.Python.Pool named #{inspect(pool)} is running"),
      else: table
  end

  defp boot_wait(pool), do: elem(settings!(pool), 2)

  # The worker an object of the globals lives on, if it is one of this pool's.
  defp pinned_node(pool, globals) do
    if Remote.has_object?(globals) do
      table = table!(pool)

      Enum.find_value(Remote.objects(globals), fn object ->
        node = node(object.resource)
        if :ets.member(table, node), do: node
      end)
    end
  end

  defp checkout(pool, pinned, deadline) do
    table = table!(pool)

    choice =
      if pinned && :ets.member(table, pinned) do
        pinned
      else
        case :ets.tab2list(table) do
          [] ->
            nil

          workers ->
            # The least busy; among equals, the one this process used last (its
            # executor there is up, and a worker called in a row stays warm: its
            # threads have not gone to sleep), else one at random.
            {_, _, least} =
              Enum.min_by(workers, fn {_node, _index, outstanding} -> outstanding end)

            least_busy = Enum.filter(workers, &(elem(&1, 2) == least))
            last = Process.get({__MODULE__, pool})

            case List.keyfind(least_busy, last, 0) do
              {^last, _, _} -> last
              nil -> least_busy |> Enum.random() |> elem(0)
            end
        end
      end

    with node when node != nil <- choice,
         true <- increment(table, node, 1) do
      if node != pinned, do: Process.put({__MODULE__, pool}, node)
      lease = make_ref()
      :ets.insert(leases_table(pool), {lease, node, self()})
      {node, lease}
    else
      _ ->
        if System.monotonic_time(:millisecond) > deadline do
          raise RemoteError,
            message: "no worker of pool #{inspect(pool)} is up (waited for one to start)",
            pool: pool,
            reason: :no_worker
        end

        Process.sleep(10)
        checkout(pool, pinned, deadline)
    end
  end

  defp checkin(pool, node, lease) do
    if :ets.take(leases_table(pool), lease) != [] do
      increment(workers_table(pool), node, -1)
    end
  rescue
    # The pool stopped meanwhile.
    ArgumentError -> :ok
  end

  defp increment(table, node, by) do
    :ets.update_counter(table, node, {3, by})
    true
  rescue
    # The worker went down meanwhile.
    ArgumentError -> false
  end

  @doc false
  # Leases of callers that died without checking in (killed during an eval).
  def sweep_leases(pool, node) do
    leases = leases_table(pool)

    for {lease, ^node, caller} <- :ets.match_object(leases, {:_, node, :_}),
        not Process.alive?(caller),
        :ets.take(leases, lease) != [] do
      increment(workers_table(pool), node, -1)
    end

    :ok
  rescue
    ArgumentError -> :ok
  end

  ## Worker nodes and how they exited (for Oxbeam.Python.Remote's messages)

  @doc false
  def pool_of(node) do
    case :ets.lookup(Remote.Tracker.pool_nodes(), node) do
      [{^node, pool, _status}] -> pool
      [] -> nil
    end
  end

  @doc false
  # Why `node` of `pool` exited: waits a little for its worker to learn it (the
  # connection goes down before the OS process's exit status arrives).
  def exit_cause(pool, node, wait_ms \\ 5_000) do
    case :ets.lookup(Remote.Tracker.pool_nodes(), node) do
      [{^node, ^pool, {:exited, cause}}] ->
        cause

      _ when wait_ms > 0 ->
        Process.sleep(10)
        exit_cause(pool, node, wait_ms - 10)

      _ ->
        "the connection to it was lost"
    end
  end
end
