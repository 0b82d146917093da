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
  #   * Owner. Every object a remote caller gets (but short scalars, see below) is put
  #     in the tracker's ETS table under a fresh id, first "pending" for the calling
  #     process (watched), then, once the caller has its handle, "held" for the caller
  #     node's tracker (monitored too: its
  #     DOWN, also on nodedown, releases everything that node held).
  #   * Holder. The handle a caller gets is `%Oxbeam.Python.Object{resource: ref,
  #     remote: {id, notifier}}`: `ref` is the owner's resource term (`node(ref)` is
  #     the owner), `notifier` a small local resource (`Oxbeam.Python.Loader`'s
  #     `gc_notifier`) that, when Erlang frees it (no process on this node holds the
  #     handle any more: dropped, or its holders exited), tells this node's tracker,
  #     which tells the owner to release `id`.
  #
  # A call is one distribution round trip. It runs in the caller's executor on the
  # owner, a process there that serves that caller only: made by its first call
  # there, kept in the caller's process dictionary, reused by its next calls (no
  # process is made or ended per call: on the owner that would cost a process and the
  # bridge's watch of it each time), gone after 11 s idle. The caller monitors it for
  # the call (the owner going down, or the executor killed, is a RemoteError). The
  # caller's death stops its calls (the eval is then interrupted as in-process): the
  # owner's tracker monitors each calling process once, for as long as it lives, and
  # kills its executor when it dies. Objects of the result are put in
  # the tracker (pending for the caller) and the caller, once it has wrapped each with
  # its notifier, sends the owner's tracker a claim; if it dies before, the pending
  # objects go with it. Objects reach their owner again by id (looked up in the ETS
  # table, so a released object is a clear error), and any other node by pickle.
  #
  # Short immutable scalars (`None`, `bool`, a 64-bit `int`, `float`, `str`/`bytes` of
  # at most 22 bytes: the values the bridge keeps with the object) are not tracked:
  # their value comes back with the reply and the handle carries it (`remote:
  # {:scalar, kind, value}`), so `decode/1` needs no call; where the object itself is
  # needed (an eval on its node, `inspect/1`, a copy) it is made again from the value,
  # an equal object (not necessarily the same one: `is` may differ).
  #
  # A handle sent on to a third node is usable there only while a holder on a node
  # that tracked it keeps it (`track/1` tracks it from the current node; FLAME does so
  # through `FLAME.Trackable`).

  alias Oxbeam.Python
  alias Oxbeam.Python.{IoSink, Object, RemoteError}
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

  defmodule Scalar do
    @moduledoc false
    # A short immutable scalar by value (`kind` :str for a `str`, else :value: the
    # decoded term encodes back to an equal object), made again where a call goes.
    defstruct [:kind, :value]
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

    # Registered names are this node's: the owner gets the pid.
    opts =
      opts
      |> Keyword.put(:stdout_device, IoSink.device!(stdout, :stdout_device))
      |> Keyword.put(:stderr_device, IoSink.device!(stderr, :stderr_device))

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

    opts =
      opts
      |> Keyword.update!(:stdout_device, &Tracker.local_device/1)
      |> Keyword.update!(:stderr_device, &Tracker.local_device/1)

    Python.eval(code, globals, opts)
  end

  defp standard_error,
    do: Process.whereis(:standard_error) || Process.group_leader()

  ## Objects

  @doc false
  def remote?(%Object{resource: resource}), do: node(resource) != node()

  @doc false
  # A scalar's value came with it: no call.
  def decode(%Object{remote: {:scalar, _kind, value}}), do: value
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

  def copy(%Object{remote: {:scalar, kind, value}}), do: unship(%Scalar{kind: kind, value: value})
  def copy(%Object{} = object), do: object |> dump() |> load_local()

  defp call_on_owner(%Object{resource: resource} = object, function) do
    owner = node(resource)
    call(owner, function, [by_id(object)], {:object, nil}, object)
  end

  # How the owner finds `object`: its id there, or its value for a scalar.
  defp by_id(%Object{remote: {:scalar, kind, value}}), do: %Scalar{kind: kind, value: value}
  defp by_id(%Object{} = object), do: %Ref{id: id!(object)}

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

  # Objects not of `node` are pickled; objects of `node` go by id; scalars by value.
  defp ship(globals, node) do
    if has_object?(globals), do: {ship_term(globals, node), true}, else: {globals, false}
  end

  defp ship_term(%Object{remote: {:scalar, kind, value}}, _node),
    do: %Scalar{kind: kind, value: value}

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

  def unship(%Scalar{kind: kind, value: value}),
    do: Python.encode!(value, binary_as: if(kind == :str, do: :str, else: :bytes))

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
  #
  # Calls run in this process's executor on `node` (its pid kept in this process's
  # dictionary): a process there that serves only this process, made by its first call
  # there (spawn_request/5, that call in its arguments) and stopped by the owner's
  # tracker when this process dies (see Tracker). A call is a monitor, the request, the
  # reply and a demonitor (as GenServer.call/3): one round trip, with no process made
  # or ended on `node` per call. An executor idle for 11 s exits; a call that finds
  # its executor gone (it never ran: the executor ends only between calls) makes a new
  # one.
  defp call(node, function, args, context, keep) do
    if node not in Node.list(:connected) and Node.connect(node) != true,
      do: raise(failure(node, :noconnection, context))

    tag = make_ref()

    {monitor, fresh?} =
      case Process.get({__MODULE__, node}) do
        executor when is_pid(executor) ->
          monitor = Process.monitor(executor)
          send(executor, {:"$oxbeam_python_call", self(), tag, function, args})
          {monitor, false}

        nil ->
          request =
            :erlang.spawn_request(
              node,
              __MODULE__,
              :__executor__,
              [self(), tag, function, args],
              [:monitor, {:reply, :error_only}]
            )

          {request, true}
      end

    receive do
      {^tag, executor, reply, held} ->
        Process.demonitor(monitor, [:flush])
        if fresh?, do: Process.put({__MODULE__, node}, executor)
        reply = if held == %{}, do: reply, else: adopt(reply, node, held)

        case reply do
          {:ok, value} -> value
          {:raise, exception} -> raise exception
          {:exit, reason} -> exit(reason)
          {:throw, value} -> throw(value)
        end

      {:DOWN, ^monitor, :process, _pid, reason} when not fresh? and reason in [:noproc, :idle] ->
        Process.delete({__MODULE__, node})
        call(node, function, args, context, keep)

      {:DOWN, ^monitor, :process, _pid, reason} ->
        Process.delete({__MODULE__, node})
        raise failure(node, reason, context)

      {:spawn_reply, ^monitor, :error, reason} ->
        raise failure(node, reason, context)
    end
  after
    __MODULE__.identity(keep)
  end

  @doc false
  # Called remotely (the compiler cannot tell it does nothing), to keep a term alive.
  def identity(term), do: term

  @warm_ms 1_000
  @idle_ms 10_000

  @doc false
  # On the owner node: the executor of `caller`, which runs its calls one at a time.
  def __executor__(caller, tag, function, args) do
    # For the executor's life: the tracker kills it when the caller dies.
    Tracker.running(caller)
    serve(caller, tag, function, args)
  end

  defp serve(caller, tag, function, args) do
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
      case local_objects(reply) do
        [] -> %{}
        objects -> Tracker.hold(caller, objects)
      end

    send(caller, {tag, self(), reply, held})
    await(caller, @warm_ms)
  end

  # The next call. What a call left on the heap (objects among it) goes at the next
  # collection, or when the executor has been idle @warm_ms: it then hibernates (which
  # collects everything), so a Python object does not outlive its holders for long
  # because an idle executor still has it. (A collection after each call cost the
  # benchmark's 100 000-int round trip up to 10%.)
  defp await(caller, idle_ms) do
    receive do
      {:"$oxbeam_python_call", ^caller, tag, function, args} ->
        serve(caller, tag, function, args)
    after
      idle_ms ->
        if idle_ms == @warm_ms do
          :erlang.hibernate(__MODULE__, :__idle__, [caller])
        else
          Tracker.done(caller)
          exit(:idle)
        end
    end
  end

  @doc false
  # An executor back from hibernation.
  def __idle__(caller), do: await(caller, @idle_ms)

  @doc false
  # The objects in a term, wherever they live (not looking inside them).
  def objects(term), do: objects(term, [])

  defp objects(%Object{} = object, acc), do: [object | acc]
  defp objects([head | tail], acc), do: objects(tail, objects(head, acc))

  defp objects(tuple, acc) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> Enum.reduce(acc, &objects/2)

  defp objects(map, acc) when is_map(map),
    do: :maps.fold(fn k, v, acc -> objects(v, objects(k, acc)) end, acc, map)

  defp objects(_other, acc), do: acc

  # The local objects in a term.
  defp local_objects(term) do
    for %Object{resource: resource} = object <- objects(term),
        is_reference(resource) and node(resource) == node(),
        do: object
  end

  # The caller's side: every object held for it gets a notifier, then the owner is told
  # they are claimed (from here on, their notifiers keep them). Scalars need neither.
  defp adopt(reply, node, held) do
    {handles, ids} =
      Enum.reduce(held, {%{}, []}, fn
        {resource, {:scalar, _, _} = scalar}, {handles, ids} ->
          {Map.put(handles, resource, scalar), ids}

        {resource, id}, {handles, ids} ->
          notifier = Oxbeam.Python.Loader.gc_notifier(Tracker.pid(), node, id)
          {Map.put(handles, resource, {id, notifier}), [id | ids]}
      end)

    reply = wrap(reply, handles)

    if ids != [],
      do: send({Tracker.name(), node}, {:claim, self(), Tracker.pid(), ids})

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

  defp failure(node, {:undef, [{__MODULE__, :__executor__, _, _} | _]} = reason, {_what, pool}) do
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

      # A scalar is not held: it is made again from its value where it is used.
      {:scalar, _kind, _value} ->
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
  # this node that other nodes hold (ETS: {id, object, holder}), passes the releases
  # of this node's handles on to their owners, and watches the processes of other
  # nodes that call here: each is monitored once, while it lives; when it dies, its
  # executor here is killed ({caller, executor} in @running) and the objects still
  # pending for it are let go ({caller, id} in @pending).
  #
  # An executor registers in @running, then makes sure its caller is watched (`watch/1`:
  # insert_new in @watched, and only then a message here); on the caller's DOWN this
  # process deletes the @watched row first, then kills what @running lists, then lets
  # go of what @pending lists. A registration or a hold after those reads finds the @watched
  # row gone, so it asks for a new monitor, whose DOWN (:noproc) comes at once and
  # cleans up again: nothing of a dead caller is left behind.
  use GenServer

  @name :oxbeam_python_object_tracker
  @table :oxbeam_python_remote_objects
  @running :oxbeam_python_remote_running
  @pending :oxbeam_python_remote_pending
  @watched :oxbeam_python_remote_watched
  @devices :oxbeam_python_remote_devices

  def name, do: @name

  # The tracker, its tables made: its name is registered before its init/1 makes them,
  # so a process that finds it starting (not the one that starts it) waits for its
  # first reply. (@devices is made last.)
  def pid do
    case Process.whereis(@name) do
      nil ->
        case GenServer.start(__MODULE__, :ok, name: @name) do
          {:ok, pid} -> pid
          {:error, {:already_started, pid}} -> ready(pid)
        end

      pid ->
        if :ets.whereis(@devices) == :undefined, do: ready(pid), else: pid
    end
  end

  defp ready(pid) do
    :ok = GenServer.call(pid, :ready, :infinity)
    pid
  end

  @doc """
  This process (an executor) serves `caller`: killed when `caller` dies.
  """
  def running(caller) do
    pid()
    :ets.insert(@running, {caller, self()})
    watch(caller)
  end

  @doc """
  A local forwarder to the IO device `device` of the caller's node (made by
  Oxbeam.Python.IoSink, which the NIF needs: it sends to local processes only),
  remembered here so that a call does not ask IoSink (a message and its reply) each
  time.
  """
  def local_device(device) when node(device) == node(), do: device

  def local_device(device) do
    case :ets.lookup(@devices, device) do
      [{_, forwarder}] when is_pid(forwarder) ->
        if Process.alive?(forwarder), do: forwarder, else: new_forwarder(device)

      [] ->
        new_forwarder(device)
    end
  end

  # (Devices that went away stay in the table: it is emptied at 1000.)
  defp new_forwarder(device) do
    forwarder = Oxbeam.Python.IoSink.local(device)
    if :ets.info(@devices, :size) >= 1000, do: :ets.delete_all_objects(@devices)
    :ets.insert(@devices, {device, forwarder})
    forwarder
  end

  @doc "This process serves `caller` no more."
  def done(caller), do: :ets.delete_object(@running, {caller, self()})

  defp watch(caller) do
    if :ets.insert_new(@watched, {caller}), do: send(@name, {:watch, caller})
    :ok
  end

  @doc """
  Holds `objects` for `caller` until it claims them (or dies): %{resource => id}, or
  `{:scalar, kind, value}` for a short immutable scalar, which is not held (its value
  goes to the caller). Called by the process that made them: the objects go straight
  into the table (they never pass through the tracker's heap, so a release frees them
  at once).
  """
  def hold(caller, objects) do
    ids = :persistent_term.get({__MODULE__, :ids})

    {held, pending?} =
      Enum.reduce(objects, {%{}, false}, fn object, {held, pending?} ->
        cond do
          Map.has_key?(held, object.resource) ->
            {held, pending?}

          (scalar = scalar(object)) != nil ->
            {Map.put(held, object.resource, scalar), pending?}

          true ->
            id = :atomics.add_get(ids, 1, 1)
            :ets.insert(@table, {id, object, {:pending, caller}})
            :ets.insert(@pending, {caller, id})
            {Map.put(held, object.resource, id), true}
        end
      end)

    # (After the rows: see the module's comment.)
    if pending?, do: watch(caller)
    held
  end

  defp scalar(%Oxbeam.Python.Object{resource: resource}) do
    case Oxbeam.Python.NIF.kept_value(resource) do
      :none -> nil
      {kind, value} -> {:scalar, kind, value}
    end
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
    :ets.new(@running, [:bag, :named_table, :public, write_concurrency: true])
    :ets.new(@pending, [:bag, :named_table, :public, write_concurrency: true])
    :ets.new(@watched, [:named_table, :public, write_concurrency: true])
    :ets.new(@devices, [:named_table, :public, read_concurrency: true])
    {:ok, %{holders: %{}, marker: nil}}
  end

  @impl true
  def handle_call(:ready, _from, state), do: {:reply, :ok, state}

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
  def handle_info({:watch, caller}, state) do
    Process.monitor(caller)
    {:noreply, state}
  end

  def handle_info({:claim, caller, holder, ids}, state) do
    claimed =
      Enum.filter(ids, fn id ->
        :ets.delete_object(@pending, {caller, id})

        case :ets.lookup(@table, id) do
          [{^id, object, {:pending, ^caller}}] -> :ets.insert(@table, {id, object, holder})
          _ -> false
        end
      end)

    {:noreply, add_held(state, holder, claimed)}
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
    # A caller (in this order: see the module's comment).
    :ets.delete(@watched, pid)

    for {_, call} = row <- :ets.lookup(@running, pid) do
      Process.exit(call, :caller_down)
      :ets.delete_object(@running, row)
    end

    for {_, id} <- :ets.take(@pending, pid),
        match?([{_, _, {:pending, ^pid}}], :ets.lookup(@table, id)),
        do: :ets.delete(@table, id)

    # A holder.
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
