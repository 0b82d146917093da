defmodule Oxbeam.Python.Remote do
  @moduledoc false
  # Evaluation on another node, and the lifetime of the objects it returns
  # (`Oxbeam.Python.remote_eval/4`, `copy_remote_object/1`, and pool evals).
  #
  # A Python object is a NIF resource of the node that made it (its owner). Erlang has
  # no distributed garbage collection: a resource term sent to another node does not
  # keep the resource alive, so the owner must hold it for as long as any other node
  # does. That is explicit here, with one tracker process per node
  # (`Oxbeam.Python.Remote.Tracker`), which plays two roles:
  #
  #   * Owner. Every object a remote caller gets is put in the tracker's ETS table under
  #     a fresh id, first "pending" for the calling process (monitored), then, once the
  #     caller has its handle, "held" for the caller node's tracker (monitored too: its
  #     DOWN, also on nodedown, releases everything that node held).
  #   * Holder. The handle a caller gets is `%Oxbeam.Python.Object{resource: ref,
  #     remote: {id, notifier}}`: `ref` is the owner's resource term (`node(ref)` is
  #     the owner), `notifier` a small local resource (`Oxbeam.Python.Loader`'s
  #     `gc_notifier`) that, when Erlang frees it (no process on this node holds the
  #     handle any more: dropped, or its holders exited), tells this node's tracker,
  #     which tells the owner to release `id`.
  #
  # A call: the caller spawns a process on the owner (monitored), which links to a
  # watcher of the caller (the caller's death kills it, which interrupts its eval as
  # in-process), runs the function, puts the objects of the result in the tracker
  # (pending for the caller), and replies. The caller wraps each object with its
  # notifier and sends the owner's tracker a claim; if it dies before, the pending
  # objects go with it. Objects reach their owner again by id (looked up in the ETS
  # table, so a released object is a clear error), and any other node by pickle.
  #
  # A handle sent on to a third node is usable there only while a holder on a node
  # that tracked it keeps it (`track/1` tracks it from the current node; FLAME does so
  # through `FLAME.Trackable`).

  alias Oxbeam.Python
  alias Oxbeam.Python.{Object, RemoteError}
  alias Oxbeam.Python.Remote.Tracker

  @eval_options [:stdout_device, :stderr_device, :binary_as, :timeout]

  defmodule Ref do
    @moduledoc false
    # An object of the node a call goes to, by its id there.
    defstruct [:id]
  end

  defmodule Pickled do
    @moduledoc false
    # An object of another node, pickled to be loaded where a call goes.
    defstruct [:bytes]
  end

  ## Evaluation

  @doc false
  # `context` names the pool for the messages (nil for remote_eval/4).
  def eval(node, code, globals, opts, pool \\ nil)

  def eval(node, code, globals, opts, nil) when node == node(),
    do: Python.eval(code, globals, opts)

  def eval(node, code, globals, opts, pool)
      when is_atom(node) and is_binary(code) and is_map(globals) and is_list(opts) do
    opts = Keyword.validate!(opts, @eval_options)
    stdout = Keyword.get_lazy(opts, :stdout_device, &Process.group_leader/0)
    stderr = Keyword.get_lazy(opts, :stderr_device, &standard_error/0)

    opts =
      opts
      |> Keyword.put(:stdout_device, device(stdout, :stdout_device))
      |> Keyword.put(:stderr_device, device(stderr, :stderr_device))

    {shipped, shipped?} = ship(globals, node)
    call(node, :__eval__, [code, shipped, shipped?, opts], {:eval, pool}, globals)
  end

  def eval(node, code, globals, opts, _pool) do
    cond do
      not is_atom(node) ->
        raise ArgumentError, "remote_eval: expected a node name, got: #{inspect(node)}"

      not is_binary(code) ->
        raise ArgumentError, "eval: expected the code as a string, got: #{inspect(code)}"

      not is_map(globals) ->
        raise ArgumentError,
              "eval: expected the globals as a map of names to values, got: #{inspect(globals)}"

      true ->
        raise ArgumentError,
              "eval: expected options as a keyword list, got: #{inspect(opts)}"
    end
  end

  @doc false
  def __eval__(code, globals, shipped?, opts) do
    globals = if shipped?, do: unship(globals), else: globals
    Python.eval(code, globals, opts)
  end

  defp standard_error,
    do: Process.whereis(:standard_error) || Process.group_leader()

  # Registered names are this node's: the owner gets the pid.
  defp device(pid, _option) when is_pid(pid), do: pid

  defp device(name, _option) when is_atom(name),
    do: Process.whereis(name) || raise(ArgumentError, "no process named #{inspect(name)}")

  defp device(other, option) do
    raise ArgumentError,
          "#{option}: expected a pid or a registered name, got: #{inspect(other)}"
  end

  ## Objects

  @doc false
  def remote?(%Object{resource: resource}), do: node(resource) != node()

  @doc false
  def decode(%Object{} = object), do: call_on_owner(object, :__decode__)

  @doc false
  def repr(%Object{} = object), do: call_on_owner(object, :__repr__)

  @doc false
  def __decode__(ref), do: Python.decode(unship(ref))

  @doc false
  def __repr__(ref), do: Python.NIF.repr(unship(ref).resource)

  @doc false
  def __dump__(ref), do: dump_local(unship(ref))

  @doc false
  def copy(%Object{resource: resource} = object) when node(resource) == node(), do: object

  def copy(%Object{} = object), do: object |> dump() |> load_local()

  defp call_on_owner(%Object{resource: resource} = object, function) do
    owner = node(resource)
    call(owner, function, [%Ref{id: id!(object)}], {:object, nil}, object)
  end

  defp id!(%Object{} = object) do
    case Map.get(object, :remote) do
      {id, _notifier} ->
        id

      nil ->
        raise ArgumentError,
              "this Python object lives on node #{node(object.resource)} but was not " <>
                "received from Oxbeam.Python there (remote_eval/4, a pool, or " <>
                "Oxbeam.Python.Remote.track/1 on this node): it may be gone already"
    end
  end

  # Pickled bytes of `object`, from its owner.
  defp dump(%Object{resource: resource} = object) when node(resource) == node(),
    do: dump_local(object)

  defp dump(object), do: call_on_owner(object, :__dump__)

  @dump """
  import pickle
  try:
      import cloudpickle as pickler
  except ImportError:
      pickler = pickle
  pickler.dumps(obj)
  """

  defp dump_local(object) do
    {bytes, _} = Python.eval(@dump, %{"obj" => object})
    Python.decode(bytes)
  rescue
    error in Python.Error ->
      last = error.lines |> Enum.join() |> String.trim_trailing() |> String.split("\n")

      raise ArgumentError,
            "cannot copy the Python object to another node: pickle failed with " <>
              "#{List.last(last)} (the cloudpickle package, when installed in the " <>
              "environment, serializes more: functions, lambdas and classes defined in an eval)"
  end

  defp load_local(bytes) do
    {object, _} = Python.eval("import pickle\npickle.loads(data)", %{"data" => bytes})
    object
  end

  ## Globals going to another node

  # Objects not of `node` are pickled; objects of `node` go by id.
  defp ship(globals, node) do
    if has_object?(globals), do: {ship_term(globals, node), true}, else: {globals, false}
  end

  defp ship_term(%Object{resource: resource} = object, node) when node(resource) == node,
    do: %Ref{id: id!(object)}

  defp ship_term(%Object{} = object, _node), do: %Pickled{bytes: dump(object)}
  defp ship_term(list, node) when is_list(list), do: ship_list(list, node)

  defp ship_term(tuple, node) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> ship_list(node) |> List.to_tuple()

  defp ship_term(map, node) when is_map(map),
    do: map_pairs(map, fn {k, v} -> {ship_term(k, node), ship_term(v, node)} end)

  defp ship_term(other, _node), do: other

  defp ship_list([], _node), do: []
  defp ship_list([head | tail], node), do: [ship_term(head, node) | ship_list(tail, node)]
  defp ship_list(tail, node), do: ship_term(tail, node)

  @doc false
  # On the node a call runs: ids and pickles back to objects.
  def unship(%Ref{id: id}), do: Tracker.fetch!(id)
  def unship(%Pickled{bytes: bytes}), do: load_local(bytes)
  def unship(list) when is_list(list), do: unship_list(list)

  def unship(tuple) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> unship_list() |> List.to_tuple()

  def unship(map) when is_map(map), do: map_pairs(map, fn {k, v} -> {unship(k), unship(v)} end)
  def unship(other), do: other

  defp unship_list([]), do: []
  defp unship_list([head | tail]), do: [unship(head) | unship_list(tail)]
  defp unship_list(tail), do: unship(tail)

  @doc false
  # Whether `term` holds an Oxbeam.Python.Object anywhere (without building anything).
  def has_object?(%Object{}), do: true
  def has_object?([head | tail]), do: has_object?(head) or has_object?(tail)
  def has_object?(tuple) when is_tuple(tuple), do: tuple_has_object?(tuple, tuple_size(tuple))

  def has_object?(map) when is_map(map),
    do: map |> :maps.to_list() |> Enum.any?(fn {k, v} -> has_object?(k) or has_object?(v) end)

  def has_object?(_), do: false

  defp tuple_has_object?(_tuple, 0), do: false

  defp tuple_has_object?(tuple, i),
    do: has_object?(elem(tuple, i - 1)) or tuple_has_object?(tuple, i - 1)

  @doc false
  # Whether `term` holds an object of another node (eval/3 then copies them).
  def has_remote_object?(%Object{} = object), do: remote?(object)
  def has_remote_object?([head | tail]), do: has_remote_object?(head) or has_remote_object?(tail)

  def has_remote_object?(tuple) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> Enum.any?(&has_remote_object?/1)

  def has_remote_object?(map) when is_map(map) do
    map
    |> :maps.to_list()
    |> Enum.any?(fn {k, v} -> has_remote_object?(k) or has_remote_object?(v) end)
  end

  def has_remote_object?(_), do: false

  @doc false
  # `term` with every object of another node replaced by a local copy.
  def localize(%Object{} = object), do: copy(object)
  def localize(list) when is_list(list), do: localize_list(list)

  def localize(tuple) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> localize_list() |> List.to_tuple()

  def localize(map) when is_map(map),
    do: map_pairs(map, fn {k, v} -> {localize(k), localize(v)} end)

  def localize(other), do: other

  defp localize_list([]), do: []
  defp localize_list([head | tail]), do: [localize(head) | localize_list(tail)]
  defp localize_list(tail), do: localize(tail)

  # A map (also a struct: its :__struct__ key is kept) with each pair mapped.
  defp map_pairs(map, fun), do: map |> :maps.to_list() |> Enum.map(fun) |> :maps.from_list()

  ## The call

  # Runs `__MODULE__.function(args)` on `node` for this process; objects in what it
  # returns or raises come back as remote objects. `keep` (the objects the call uses
  # by id) is kept alive until the reply: their handles must not be freed meanwhile.
  defp call(node, function, args, context, keep) do
    if node not in Node.list(:connected) and Node.connect(node) != true,
      do: raise(failure(node, :noconnection, context))

    ref = make_ref()

    {_pid, monitor} =
      :erlang.spawn_opt(node, __MODULE__, :__run__, [self(), ref, function, args], [:monitor])

    receive do
      {^ref, reply, held} ->
        Process.demonitor(monitor, [:flush])
        reply = if held == %{}, do: reply, else: adopt(reply, node, held)

        case reply do
          {:ok, value} -> value
          {:raise, exception} -> raise exception
          {:exit, reason} -> exit(reason)
          {:throw, value} -> throw(value)
        end

      {:DOWN, ^monitor, :process, _pid, reason} ->
        raise failure(node, reason, context)
    end
  after
    __MODULE__.identity(keep)
  end

  @doc false
  # Called remotely (the compiler cannot tell it does nothing), to keep a term alive.
  def identity(term), do: term

  @doc false
  # On the owner node, in a process of its own.
  def __run__(caller, ref, function, args) do
    watcher = spawn_link(__MODULE__, :__watch__, [caller, self()])

    reply =
      try do
        {:ok, apply(__MODULE__, function, args)}
      rescue
        exception -> {:raise, exception}
      catch
        :exit, reason -> {:exit, reason}
        :throw, value -> {:throw, value}
      end

    held =
      case collect(reply, []) do
        [] -> %{}
        objects -> Tracker.hold(caller, objects)
      end

    Process.unlink(watcher)
    Process.exit(watcher, :kill)
    send(caller, {ref, reply, held})
  end

  @doc false
  # Stops the call (its eval is then interrupted, as in process) when the caller dies.
  def __watch__(caller, call) do
    monitor = Process.monitor(caller)

    receive do
      {:DOWN, ^monitor, :process, _, _} -> Process.exit(call, :caller_down)
    end
  end

  # The local objects in a term.
  defp collect(%Object{resource: resource} = object, acc)
       when is_reference(resource) and node(resource) == node(),
       do: [object | acc]

  defp collect([head | tail], acc), do: collect(tail, collect(head, acc))

  defp collect(tuple, acc) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> Enum.reduce(acc, &collect/2)

  defp collect(map, acc) when is_map(map),
    do: :maps.fold(fn k, v, acc -> collect(v, collect(k, acc)) end, acc, map)

  defp collect(_other, acc), do: acc

  # The caller's side: every object held for it gets a notifier, then the owner is told
  # they are claimed (from here on, their notifiers keep them).
  defp adopt(reply, node, held) do
    tracker = Tracker.pid()

    handles =
      Map.new(held, fn {resource, id} ->
        {resource, {id, Oxbeam.Python.Loader.gc_notifier(tracker, node, id)}}
      end)

    reply = wrap(reply, handles)
    send({Tracker.name(), node}, {:claim, self(), tracker, Map.values(held)})
    reply
  end

  defp wrap(%Object{resource: resource} = object, handles) do
    case handles do
      %{^resource => handle} -> %Object{resource: resource, remote: handle}
      _ -> object
    end
  end

  defp wrap([head | tail], handles), do: [wrap(head, handles) | wrap(tail, handles)]

  defp wrap(tuple, handles) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> wrap(handles) |> List.to_tuple()

  defp wrap(map, handles) when is_map(map),
    do: map_pairs(map, fn {k, v} -> {wrap(k, handles), wrap(v, handles)} end)

  defp wrap(other, _handles), do: other

  ## Failures

  defp failure(node, :noconnection, {what, pool}) do
    {pool, cause} =
      case pool || Oxbeam.Python.Pool.pool_of(node) do
        nil -> {nil, nil}
        pool -> {pool, Oxbeam.Python.Pool.exit_cause(pool, node)}
      end

    message =
      case {what, pool} do
        {:eval, nil} ->
          "remote_eval: node #{node} is down or not reachable (it did not answer, or " <>
            "went down during the eval)"

        {:object, nil} ->
          "the Python object lived on node #{node}, which is down or not reachable: " <>
            "the object is gone"

        {:eval, pool} ->
          "the Python worker #{node} of pool #{inspect(pool)} exited during the eval " <>
            "(#{cause}); the pool starts a replacement"

        {:object, pool} ->
          "the Python object lived on the worker #{node} of pool #{inspect(pool)}, which " <>
            "exited (#{cause}): the object is gone"
      end

    %RemoteError{message: message, node: node, pool: pool, reason: cause || :noconnection}
  end

  defp failure(node, {:undef, [{__MODULE__, :__run__, _, _} | _]} = reason, {_what, pool}) do
    %RemoteError{
      message: "node #{node} does not have Oxbeam.Python's code (:oxbeam_python) loaded",
      node: node,
      pool: pool,
      reason: reason
    }
  end

  defp failure(node, reason, {_what, pool}) do
    %RemoteError{
      message: "the call on node #{node} exited: #{inspect(reason)}",
      node: node,
      pool: pool,
      reason: reason
    }
  end

  ## Tracking from this node (FLAME)

  @doc """
  Makes this node a holder of `object` (a remote object received some other way than
  from Oxbeam.Python, e.g. in a message): returns the object with its own handle, and a
  pid on the owner that lives as long as the owner holds objects for other nodes (for
  `FLAME.Trackable`). A local object, or one this node already holds, is returned as
  is with `nil`.
  """
  @spec track(Object.t()) :: {Object.t(), pid() | nil}
  def track(%Object{resource: resource} = object) do
    owner = node(resource)

    case Map.get(object, :remote) do
      _ when owner == node() ->
        {object, nil}

      {_id, notifier} when node(notifier) == node() ->
        {object, nil}

      remote ->
        key = if remote, do: {:id, elem(remote, 0)}, else: {:resource, resource}
        tracker = Tracker.pid()
        {id, marker} = :erpc.call(owner, Tracker, :track, [tracker, key])
        notifier = Oxbeam.Python.Loader.gc_notifier(tracker, owner, id)
        {%Object{resource: resource, remote: {id, notifier}}, marker}
    end
  end
end

defmodule Oxbeam.Python.Remote.Tracker do
  @moduledoc false
  # One per node, started on first use (see Oxbeam.Python.Remote): holds the objects of
  # this node that other nodes hold (ETS: {id, object, holder}), and passes the
  # releases of this node's handles on to their owners.
  use GenServer

  @name :oxbeam_python_object_tracker
  @table :oxbeam_python_remote_objects

  def name, do: @name

  def pid do
    case Process.whereis(@name) do
      nil ->
        case GenServer.start(__MODULE__, :ok, name: @name) do
          {:ok, pid} -> pid
          {:error, {:already_started, pid}} -> pid
        end

      pid ->
        pid
    end
  end

  @doc """
  Holds `objects` for `caller` until it claims them (or dies): %{resource => id}.
  Called by the process that made them: the objects go straight into the table (they
  never pass through the tracker's heap, so a release frees them at once), and the
  tracker is told to watch `caller` (before the caller can claim them: a local send).
  """
  def hold(caller, objects) do
    tracker = pid()
    ids = :persistent_term.get({__MODULE__, :ids})

    held =
      Enum.reduce(objects, %{}, fn object, held ->
        if Map.has_key?(held, object.resource) do
          held
        else
          id = :atomics.add_get(ids, 1, 1)
          :ets.insert(@table, {id, object, {:pending, caller}})
          Map.put(held, object.resource, id)
        end
      end)

    send(tracker, {:pending, caller, Map.values(held)})
    held
  end

  @doc "Holds an object (by id, or its resource) for `holder`: `{id, marker}`."
  def track(holder, key), do: GenServer.call(pid(), {:track, holder, key}, :infinity)

  @doc "The object held under `id`, or a RemoteError."
  def fetch!(id) do
    case :ets.whereis(@table) != :undefined and :ets.lookup(@table, id) do
      [{^id, object, _holder}] ->
        object

      _ ->
        raise Oxbeam.Python.RemoteError,
          message:
            "the Python object is no longer held on node #{node()} (its holder's node " <>
              "disconnected, or its tracker restarted)",
          node: node(),
          reason: :released
    end
  end

  @doc "How many objects this node holds for others (tests)."
  def count do
    pid()
    if :ets.whereis(@table) == :undefined, do: 0, else: :ets.info(@table, :size)
  end

  @doc false
  # Which pool each worker node of this node's pools belongs to, and how it exited:
  # {node, pool, :up | {:exited, cause}}. Written by the pools' workers; kept here
  # because this process lives as long as the node (the pools come and go).
  def pool_nodes do
    pid()
    :oxbeam_python_pool_nodes
  end

  @impl true
  def init(:ok) do
    :ets.new(@table, [:named_table, :public, read_concurrency: true, write_concurrency: true])
    :persistent_term.put({__MODULE__, :ids}, :atomics.new(1, signed: false))
    :ets.new(:oxbeam_python_pool_nodes, [:named_table, :public, read_concurrency: true])
    {:ok, %{pending: %{}, holders: %{}, marker: nil}}
  end

  @impl true
  def handle_call({:track, holder, key}, _from, state) do
    object =
      case key do
        {:id, id} -> fetch!(id)
        {:resource, resource} -> %Oxbeam.Python.Object{resource: resource}
      end

    id = :atomics.add_get(:persistent_term.get({__MODULE__, :ids}), 1, 1)
    :ets.insert(@table, {id, object, holder})
    state = state |> add_held(holder, [id]) |> ensure_marker()
    {:reply, {id, state.marker}, state}
  end

  @impl true
  def handle_info({:pending, caller, ids}, state) do
    pending =
      Map.update(state.pending, caller, {Process.monitor(caller), ids}, fn {monitor, old} ->
        {monitor, ids ++ old}
      end)

    {:noreply, %{state | pending: pending}}
  end

  def handle_info({:claim, caller, holder, ids}, state) do
    claimed =
      Enum.filter(ids, fn id ->
        case :ets.lookup(@table, id) do
          [{^id, object, {:pending, ^caller}}] -> :ets.insert(@table, {id, object, holder})
          _ -> false
        end
      end)

    pending =
      case state.pending do
        %{^caller => {monitor, old}} ->
          case old -- ids do
            [] ->
              Process.demonitor(monitor, [:flush])
              Map.delete(state.pending, caller)

            left ->
              Map.put(state.pending, caller, {monitor, left})
          end

        pending ->
          pending
      end

    {:noreply, add_held(%{state | pending: pending}, holder, claimed)}
  end

  def handle_info({:release, holder, id}, state) do
    :ets.delete(@table, id)

    holders =
      case state.holders do
        %{^holder => {monitor, ids}} ->
          Map.put(state.holders, holder, {monitor, Map.delete(ids, id)})

        holders ->
          holders
      end

    {:noreply, maybe_stop_marker(%{state | holders: holders})}
  end

  # A handle of this node was freed: its owner lets the object go.
  def handle_info({:oxbeam_python_released, owner, id}, state) do
    if owner == node() do
      handle_info({:release, self(), id}, state)
    else
      :erlang.send({@name, owner}, {:release, self(), id}, [:noconnect])
      {:noreply, state}
    end
  end

  def handle_info({:DOWN, _monitor, :process, pid, _reason}, state) do
    state =
      case state.pending do
        %{^pid => {_monitor, ids}} ->
          for id <- ids,
              match?([{_, _, {:pending, ^pid}}], :ets.lookup(@table, id)),
              do: :ets.delete(@table, id)

          %{state | pending: Map.delete(state.pending, pid)}

        _ ->
          state
      end

    state =
      case state.holders do
        %{^pid => {_monitor, ids}} ->
          for {id, _} <- ids, do: :ets.delete(@table, id)
          %{state | holders: Map.delete(state.holders, pid)}

        _ ->
          state
      end

    {:noreply, maybe_stop_marker(state)}
  end

  def handle_info(_other, state), do: {:noreply, state}

  defp add_held(state, _holder, []), do: state

  defp add_held(state, holder, ids) do
    new = Map.new(ids, &{&1, true})

    holders =
      Map.update(state.holders, holder, {Process.monitor(holder), new}, fn {monitor, old} ->
        {monitor, Map.merge(old, new)}
      end)

    %{state | holders: holders}
  end

  # The FLAME marker: alive while this node holds objects for others.
  defp ensure_marker(%{marker: nil} = state) do
    %{state | marker: spawn(fn -> receive(do: (:stop -> :ok)) end)}
  end

  defp ensure_marker(state), do: state

  defp maybe_stop_marker(state) do
    if state.marker != nil and :ets.info(@table, :size) == 0 do
      send(state.marker, :stop)
      %{state | marker: nil}
    else
      state
    end
  end
end
