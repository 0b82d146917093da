defmodule Oxbeam.Python.Pool.Worker do
  @moduledoc false
  # One worker of an Oxbeam.Python.Pool: owns a worker OS process (a hidden BEAM node
  # started through a port, which gives its exit status), or watches a given node.
  # Up, it is a row {node, index, outstanding} in the pool's workers table; when its
  # OS process exits, it records why (Oxbeam.Python.Remote.Tracker.pool_nodes/0) and
  # stops, and the pool's supervisor starts a new one.
  use GenServer
  require Logger

  alias Oxbeam.Python.Pool

  @tail_bytes 4096

  def start_link(arg), do: GenServer.start_link(__MODULE__, arg)

  @impl true
  def init({pool, {:start, index}, setup, {boot_timeout, erl_args}}) do
    Process.flag(:trap_exit, true)

    with {:ok, state} <- boot(pool, index, boot_timeout, erl_args),
         :ok <- setup_python(state, setup, boot_timeout) do
      {:ok, ready(state)}
    else
      {:error, message, state} ->
        kill(state)
        {:stop, {:shutdown, message}}

      {:error, message} ->
        {:stop, {:shutdown, message}}
    end
  end

  def init({pool, {:node, index, node}, setup, {boot_timeout, _erl_args}}) do
    Process.flag(:trap_exit, true)
    state = %{pool: pool, index: index, node: node, port: nil, os_pid: nil, tail: ""}
    state = Map.merge(state, %{setup: setup, boot_timeout: boot_timeout, up: false})
    send(self(), :connect)
    {:ok, state}
  end

  ## Starting a worker OS process

  defp boot(pool, index, timeout, erl_args) do
    [_name, host] = node() |> Atom.to_string() |> String.split("@", parts: 2)
    node = :"oxbeam_python_w#{index}_#{System.unique_integer([:positive])}@#{host}"
    name_flag = if :net_kernel.longnames() == true, do: "-name", else: "-sname"

    # The cookie goes in a file only this user can read (not on the command line,
    # which other users see), removed once the node is up.
    cookie_file =
      Path.join(System.tmp_dir!(), "oxbeam_python_pool_#{System.unique_integer([:positive])}")

    # Made empty (exclusive: never another's file), restricted, then written.
    {:ok, file} = File.open(cookie_file, [:write, :exclusive])
    File.chmod!(cookie_file, 0o600)
    IO.binwrite(file, "-setcookie #{Node.get_cookie()}\n")
    File.close(file)

    args =
      [name_flag, Atom.to_string(node), "-hidden", "-noinput", "-args_file", cookie_file] ++
        Enum.flat_map(:code.get_path(), &["-pa", List.to_string(&1)]) ++
        erl_args ++ ["-s", "Elixir.Oxbeam.Python.Pool.Boot", "start"]

    parent = :erlang.term_to_binary({self(), node()}) |> Base.url_encode64()

    env =
      Oxbeam.Python.install_env()
      |> Map.put("OXBEAM_PYTHON_POOL_PARENT", parent)
      # A worker that runs out of memory is not to write erl_crash.dump files.
      |> Map.put("ERL_CRASH_DUMP_SECONDS", "0")
      |> Enum.map(fn {k, v} -> {String.to_charlist(k), String.to_charlist(v)} end)

    erl = Path.join([:code.root_dir(), "bin", "erl"])

    port =
      Port.open({:spawn_executable, erl}, [
        :binary,
        :exit_status,
        :stderr_to_stdout,
        args: args,
        env: env
      ])

    state = %{pool: pool, index: index, node: node, port: port, os_pid: nil, tail: ""}

    try do
      await_up(state, System.monotonic_time(:millisecond) + timeout)
    after
      File.rm(cookie_file)
    end
  end

  defp await_up(%{port: port, node: node} = state, deadline) do
    receive do
      {:oxbeam_python_pool_worker_up, ^node, os_pid} ->
        Node.monitor(node, true)
        {:ok, %{state | os_pid: os_pid}}

      {^port, {:data, data}} ->
        await_up(tail(state, data), deadline)

      {^port, {:exit_status, status}} ->
        {:error,
         "the worker node #{node} of pool #{inspect(state.pool)} exited while starting " <>
           "(#{describe(status)}): #{String.trim(state.tail)}"}
    after
      max(deadline - System.monotonic_time(:millisecond), 0) ->
        {:error,
         "the worker node #{node} of pool #{inspect(state.pool)} did not start in time: " <>
           String.trim(state.tail), state}
    end
  end

  @faulthandler """
  import faulthandler, os, sys
  sys.oxbeam_pool_crash_output = os.fdopen(2, "w", closefd=False)
  faulthandler.enable(file=sys.oxbeam_pool_crash_output, all_threads=True)
  """

  defp setup_python(%{node: node} = state, setup, timeout) do
    {function, arg} = setup

    :ok = :erpc.call(node, Oxbeam.Python, function, [arg], timeout)

    # A worker that crashes natively prints the Python stack of the crash (in its
    # output, which the pool logs with the cause): faulthandler writes to fd 2, this
    # worker's own stderr (the port), not to the VM of the pool.
    {_, _} = :erpc.call(node, Oxbeam.Python, :eval, [@faulthandler, %{}], timeout)

    :ok
  catch
    kind, reason ->
      message =
        case {kind, reason} do
          {:error, {:exception, exception, _}} -> Exception.message(exception)
          _ -> Exception.format(kind, reason)
        end

      {:error,
       "the worker node #{node} of pool #{inspect(state.pool)} could not start Python: " <>
         message, state}
  end

  defp ready(state) do
    pool_nodes = Oxbeam.Python.Remote.Tracker.pool_nodes()
    prune(pool_nodes, state.pool)
    :ets.insert(pool_nodes, {state.node, state.pool, :up})
    :ets.insert(Pool.workers_table(state.pool), {state.node, state.index, 0})
    Process.send_after(self(), :sweep, 1_000)
    state
  end

  # Exited workers are remembered (to explain errors about their objects), up to 1000
  # per pool.
  defp prune(pool_nodes, pool) do
    exited = {:_, pool, {:exited, :_}}

    if length(:ets.match_object(pool_nodes, exited)) > 1_000,
      do: :ets.match_delete(pool_nodes, exited)
  end

  @impl true
  def handle_info({port, {:data, data}}, %{port: port} = state),
    do: {:noreply, tail(state, data)}

  def handle_info({port, {:exit_status, status}}, %{port: port} = state) do
    cause = describe(status)
    exited(state, cause)

    output =
      case String.trim(state.tail) do
        "" -> ""
        tail -> ". Its last output:\n" <> tail
      end

    Logger.warning(
      "Oxbeam.Python.Pool #{inspect(state.pool)}: worker #{state.node} exited (#{cause}); " <>
        "starting a replacement" <> output
    )

    {:stop, {:shutdown, {:worker_exited, cause}}, %{state | port: nil}}
  end

  # Disconnected but its OS process not gone (hung?): no more evals go there, and it is
  # killed if it has not exited 2 s later.
  def handle_info({:nodedown, node}, %{node: node, port: port} = state) when port != nil do
    :ets.delete(Pool.workers_table(state.pool), node)
    Process.send_after(self(), :kill, 2_000)
    {:noreply, state}
  end

  def handle_info({:nodedown, node}, %{node: node, port: nil} = state) do
    exited(state, "the node disconnected")
    Process.send_after(self(), :connect, 1_000)
    {:noreply, %{state | up: false}}
  end

  def handle_info(:connect, %{port: nil, up: false} = state) do
    if Node.connect(state.node) == true do
      Node.monitor(state.node, true)

      case setup_python(state, state.setup, state.boot_timeout) do
        :ok ->
          {:noreply, %{ready(state) | up: true}}

        {:error, message, state} ->
          Logger.warning("Oxbeam.Python.Pool #{inspect(state.pool)}: #{message}")
          Process.send_after(self(), :connect, 1_000)
          {:noreply, state}
      end
    else
      Process.send_after(self(), :connect, 1_000)
      {:noreply, state}
    end
  end

  def handle_info(:kill, state) do
    kill(state)
    {:noreply, state}
  end

  def handle_info(:sweep, state) do
    Pool.sweep_leases(state.pool, state.node)
    Process.send_after(self(), :sweep, 1_000)
    {:noreply, state}
  end

  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, %{port: port} = state) when port != nil do
    :ets.delete(Pool.workers_table(state.pool), state.node)
    exited(state, "the pool stopped it")
    :erpc.cast(state.node, :erlang, :halt, [0])

    receive do
      {^port, {:exit_status, _}} -> :ok
    after
      5_000 -> kill(state)
    end
  end

  def terminate(_reason, _state), do: :ok

  defp exited(state, cause) do
    :ets.delete(Pool.workers_table(state.pool), state.node)

    :ets.insert(
      Oxbeam.Python.Remote.Tracker.pool_nodes(),
      {state.node, state.pool, {:exited, cause}}
    )
  rescue
    ArgumentError -> :ok
  end

  defp kill(%{os_pid: os_pid}) when is_integer(os_pid),
    do: System.cmd("kill", ["-KILL", Integer.to_string(os_pid)], stderr_to_stdout: true)

  defp kill(%{port: port}) when is_port(port) do
    case Port.info(port, :os_pid) do
      {:os_pid, os_pid} -> System.cmd("kill", ["-KILL", Integer.to_string(os_pid)])
      nil -> :ok
    end
  end

  defp kill(_state), do: :ok

  defp tail(state, data) do
    tail = state.tail <> data
    size = byte_size(tail)

    tail =
      if size > @tail_bytes, do: binary_part(tail, size - @tail_bytes, @tail_bytes), else: tail

    %{state | tail: tail}
  end

  @signals %{
    1 => "SIGHUP",
    2 => "SIGINT",
    4 => "SIGILL",
    6 => "SIGABRT",
    7 => "SIGBUS",
    8 => "SIGFPE",
    9 => "SIGKILL",
    11 => "SIGSEGV",
    13 => "SIGPIPE",
    15 => "SIGTERM"
  }

  @doc false
  # The port reports a worker killed by signal N as exit status 128 + N.
  def describe(status) when status > 128 and status < 160 do
    signal = status - 128

    case @signals do
      %{^signal => name} -> "killed by signal #{signal} (#{name})"
      _ -> "killed by signal #{signal}"
    end
  end

  def describe(status), do: "exited with status #{status}"
end

defmodule Oxbeam.Python.Pool.Boot do
  @moduledoc false
  # Runs on a pool's worker node as it boots (`-s`): connects to the pool's node, halts
  # this node when the pool's worker process is gone, and says it is up.

  def start do
    {worker, parent} =
      System.fetch_env!("OXBEAM_PYTHON_POOL_PARENT")
      |> Base.url_decode64!()
      |> :erlang.binary_to_term()

    System.delete_env("OXBEAM_PYTHON_POOL_PARENT")
    {:ok, _} = Application.ensure_all_started(:oxbeam_python)
    if Node.connect(parent) != true, do: System.halt(3)

    spawn(__MODULE__, :halt_when_down, [worker])

    send(worker, {:oxbeam_python_pool_worker_up, node(), String.to_integer(System.pid())})
  end

  @doc false
  # Halts this node when the pool's worker process (on the pool's node) is gone.
  @spec halt_when_down(pid()) :: no_return()
  def halt_when_down(worker) do
    monitor = Process.monitor(worker)

    receive do
      {:DOWN, ^monitor, :process, _, _} -> System.halt(0)
    end
  end
end
