defmodule Oxbeam.Python do
  @moduledoc """
  CPython embedded in the BEAM. API-compatible with Pythonx: a Pythonx user can switch
  by changing the module name.

      Oxbeam.Python.init(System.find_executable("python3"))
      {result, globals} = Oxbeam.Python.eval("x = 1\\ny = x + 1\\ny * 10", %{})
      Oxbeam.Python.decode(result)
      #=> 20

  ## How it runs

    * Python runs only on dirty schedulers; the GIL is taken for one call and released
      between calls and whenever Python releases it (`time.sleep`, I/O, numpy), so
      waiting evals overlap. Pure-Python CPU work is serialized by the GIL: it does
      not run in parallel, whatever the number of Elixir processes.
    * Each value crosses in one NIF call: `encode!/2` and `decode/1` convert a whole
      nested value under one GIL hold.
    * Objects held by Elixir are released when Erlang garbage-collects them, without
      blocking a scheduler on the GIL.
    * `print` and writes to `sys.stdout` go to the calling process's group leader
      (also on another node), `sys.stderr` to `:standard_error` (also from threads the
      eval starts), or to the devices given in options; reading `sys.stdin` raises
      `RuntimeError: stdin not supported`, as in Pythonx.
    * From Python, `import oxbeam` gives `oxbeam.send_tagged_object(pid, tag, obj)`,
      which sends `{tag, %Oxbeam.Python.Object{}}` to an Elixir process. `tag` must be
      the name of an existing atom (atoms are never made from Python data); another
      tag raises `ValueError` in Python.
    * Python runs inside the VM's OS process, so what would change that process is
      refused: `signal.signal`, `signal.siginterrupt`, `signal.alarm`,
      `signal.setitimer` and `faulthandler.register` raise `ValueError` (the BEAM owns
      the signals), `os.fork` and `os.forkpty` raise `RuntimeError`. `subprocess` works,
      and so does `multiprocessing`, whose default start method here is `"forkserver"`
      (`"spawn"` works too); its workers run the environment's `python`. A native crash
      in a C extension (`ctypes.string_at(0)`) still takes the VM down (containing it is
      the job of an isolated backend, a separate OS process).

  ## Conversions

  | Elixir | Python | back to Elixir |
  |---|---|---|
  | `nil`, booleans | `None`, `bool` | same |
  | integers (any size) | `int` | integers |
  | floats; `:nan`, `:infinity`, `:neg_infinity` | `float` | floats; the three atoms |
  | other atoms | `str` | binaries |
  | binaries | `bytes` (`str` with `binary_as: :str`, a read-only `memoryview` with `binary_as: :buffer`) | binaries (from `str`, `bytes` and any other buffer: `bytearray`, `memoryview`, ...) |
  | `Oxbeam.Python.Array` | a numpy array over the binary | `Oxbeam.Python.Array` (from numpy arrays) |
  | lists, tuples | `list`, `tuple` | lists, tuples |
  | maps | `dict` | maps (keys decoded too) |
  | `MapSet` | `set` | `MapSet` (also from `frozenset`) |
  | pids | `oxbeam.PID` | the same pids |
  | `Oxbeam.Python.Object` | the object | other objects |
  """

  alias Oxbeam.Python.{NIF, Object}

  @doc """
  Sets up a virtual environment from `pyproject_toml` with uv and initializes the
  interpreter with it.

      Oxbeam.Python.uv_init(~S'''
      [project]
      name = "project"
      version = "0.0.0"
      requires-python = "==3.11.*"
      dependencies = ["numpy==2.2.2"]
      ''')

  The environment is cached by content (the same pyproject reuses its venv) under
  `~/.cache/oxbeam_python` (or `$OXBEAM_PYTHON_CACHE`, or the `:cache_dir` option).
  uv is taken from PATH, or installed from PyPI into the cache. uv never downloads an
  interpreter: it chooses by `requires-python` among the host's CPythons 3.10+ (PATH,
  then pyenv's, newest first), or takes `:python`; a `requires-python` that none
  satisfies is an error with uv's explanation.
  `[[tool.uv.index]]` sections are honoured (uv reads them). Options: `:python`,
  `:cache_dir`, `:force` (recreate the environment).
  """
  @spec uv_init(String.t(), keyword()) :: :ok
  def uv_init(pyproject_toml, opts \\ []) when is_binary(pyproject_toml) do
    python = Oxbeam.Python.Uv.sync!(pyproject_toml, opts)
    init(python)
  end

  # Compile-time configuration, as Pythonx's (`config :pythonx, :uv_init`):
  #
  #     config :oxbeam_python, :uv_init, pyproject_toml: "..."
  #
  # (`config :oxbeam, :uv_init`, its form before the bridge had a package of its own,
  # is read too; :oxbeam_python's wins when both are set.) The environment is made now,
  # while :oxbeam_python compiles, inside its build (priv/uv/), so that `mix release`
  # carries it; the :oxbeam_python application initializes it when it starts.
  # Options: `:python` (see uv_init/2).
  @uv_init_config Application.compile_env(:oxbeam_python, :uv_init) ||
                    Application.compile_env(:oxbeam, :uv_init)

  if @uv_init_config do
    pyproject = Keyword.fetch!(@uv_init_config, :pyproject_toml)

    Oxbeam.Python.Uv.sync_into!(
      Path.join(Mix.Project.app_path(), "priv/uv/project"),
      pyproject,
      Keyword.take(@uv_init_config, [:python])
    )
  end

  @doc false
  # Called when the :oxbeam_python application starts.
  def __init_configured__ do
    if @uv_init_config do
      init(Path.join(:code.priv_dir(:oxbeam_python), "uv/project/.venv/bin/python"))
    else
      :ok
    end
  end

  @doc """
  The directories the running Python environment lives in: its virtual environment
  (when the interpreter is a venv's) and the base CPython installation (with its
  libpython). Another node (a FLAME runner, a peer) needs them at the same paths to
  run the same environment. `[]` before `init`.
  """
  @spec install_paths() :: [String.t()]
  def install_paths do
    case :persistent_term.get({__MODULE__, :paths}, nil) do
      nil -> []
      {prefix, base_prefix} -> Enum.uniq([prefix, base_prefix])
    end
  end

  @doc """
  Environment variables for starting another node (or OS process) that sets up the
  same Python environment: `OXBEAM_PYTHON_CACHE` (where `uv_init/2` keeps its
  environments: the same pyproject reuses them) and, when set, `PYENV_ROOT` (where
  uv_init looks for CPythons).
  """
  @spec install_env() :: %{optional(String.t()) => String.t()}
  def install_env do
    env = %{"OXBEAM_PYTHON_CACHE" => Oxbeam.Python.Uv.default_cache()}

    case System.get_env("PYENV_ROOT") do
      nil -> env
      root -> Map.put(env, "PYENV_ROOT", root)
    end
  end

  @doc """
  Initializes the interpreter with the environment of the Python executable
  `python` (a virtual environment's `bin/python`, or the base interpreter): its
  site-packages directories are added to `sys.path`.

  Any CPython 3.10+ with a shared libpython: the bridge is built against the stable
  ABI, and `init` loads that interpreter's libpython. Options: `:sys_paths`, more
  directories for `sys.path`. Calling `init` again with the same environment is a
  no-op; with a different one it raises (one interpreter per VM).
  """
  @spec init(String.t(), keyword()) :: :ok
  def init(python, opts \\ [])

  def init(python, opts) when is_binary(python) and is_list(opts) do
    opts = Keyword.validate!(opts, sys_paths: [])
    start(python, opts[:sys_paths])
  end

  def init(python, _opts) do
    raise ArgumentError,
          "init: expected the path or name of a Python executable (a string), got: #{inspect(python)}"
  end

  @doc """
  Pythonx's low-level form: `python_dl_path` (the shared libpython), `python_home_path`
  (the directory with `lib/pythonX.Y`) and `python_executable_path`. Options:
  `:sys_paths`, directories added to `sys.path`. Code written for `Pythonx.init/4`
  runs unchanged; the checks and their messages are Pythonx's.
  """
  @spec init(String.t(), String.t(), String.t(), keyword()) :: :ok
  def init(python_dl_path, python_home_path, python_executable_path, opts \\ [])
      when is_binary(python_dl_path) and is_binary(python_home_path) and
             is_binary(python_executable_path) and is_list(opts) do
    opts = Keyword.validate!(opts, sys_paths: [])

    if not File.exists?(python_dl_path) do
      raise ArgumentError, "the given dynamic library file does not exist: #{python_dl_path}"
    end

    if not File.dir?(python_home_path) do
      raise ArgumentError, "the given python home directory does not exist: #{python_home_path}"
    end

    if not File.exists?(python_executable_path) do
      raise ArgumentError,
            "the given python executable does not exist: #{python_executable_path}"
    end

    start(python_executable_path, opts[:sys_paths], python_dl_path)
  end

  defp start(python, sys_paths, libpython \\ nil) do
    python =
      System.find_executable(python) ||
        raise ArgumentError, "Python executable not found: #{inspect(python)}"

    {version, found_libpython, prefixes, site_dirs} = interpreter_info!(python)
    libpython = libpython || found_libpython

    if Version.compare("#{version}.0", "3.10.0") == :lt do
      raise ArgumentError,
            "#{python} is Python #{version}; Oxbeam.Python needs CPython 3.10 or later"
    end

    load_libpython!(libpython)

    result =
      NIF.init(site_dirs ++ sys_paths, python, Oxbeam.Python.IoSink.pid(), map_set_fields())

    :persistent_term.put({__MODULE__, :executable}, python)
    :persistent_term.put({__MODULE__, :paths}, prefixes)
    result
  end

  # The version, shared libpython and site-packages directories of `python`.
  defp interpreter_info!(python) do
    script = """
    import os, site, sys, sysconfig
    print(f"{sys.version_info[0]}.{sys.version_info[1]}")
    shared = sysconfig.get_config_var("Py_ENABLE_SHARED")
    libdir, library = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("LDLIBRARY")
    print(os.path.join(libdir, library) if shared and libdir and library else "")
    print(sys.prefix)
    print(sys.base_prefix)
    print("\\n".join(site.getsitepackages()))
    """

    {output, status} = System.cmd(python, ["-c", script], stderr_to_stdout: true)

    case {status, String.split(output, "\n")} do
      {0, [version, libpython, prefix, base_prefix | site_dirs]} ->
        if not (version =~ ~r/^\d+\.\d+$/), do: not_python!(python, output, status)

        if libpython == "" do
          raise ArgumentError,
                "#{python} (Python #{version}) has no shared libpython, which Oxbeam.Python " <>
                  "loads: use a CPython built with --enable-shared (pyenv: " <>
                  "PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install ...)"
        end

        {version, libpython, {prefix, base_prefix}, Enum.reject(site_dirs, &(&1 == ""))}

      _ ->
        not_python!(python, output, status)
    end
  end

  # The bridge links no libpython (stable ABI): the chosen one is loaded with global
  # symbols, then the bridge's NIF library (whose load at boot could not resolve its
  # Python symbols yet). One libpython per VM.
  defp load_libpython!(libpython) do
    case :persistent_term.get({__MODULE__, :libpython}, nil) do
      nil ->
        case Oxbeam.Python.Loader.load_global(libpython) do
          {:ok, true} ->
            :persistent_term.put({__MODULE__, :libpython}, libpython)

          {:error, message} ->
            raise ArgumentError, "could not load #{libpython}: #{message}"
        end

      ^libpython ->
        :ok

      loaded ->
        raise RuntimeError,
              "Python interpreter is already initialized with a different environment " <>
                "(#{loaded}); restart the VM to use #{libpython}"
    end

    # load_nif/2 runs in the NIF module's own code (its load function, called again).
    # (Loading the module first runs its on_load, which, before, could not load it.)
    Code.ensure_loaded(NIF)
    if function_exported?(NIF, :__oxbeam_load__, 0), do: apply(NIF, :__oxbeam_load__, [])

    case Oxbeam.load_error(NIF) do
      nil -> :ok
      error -> raise RuntimeError, "could not load Oxbeam.Python's NIF library: #{error}"
    end
  end

  # The fields of this Elixir's MapSet besides :map (`version: 2` up to 1.14, none
  # since), so that the NIF builds sets equal to MapSet.new/1's.
  defp map_set_fields do
    fields = MapSet.new() |> Map.from_struct() |> Map.delete(:map) |> Map.to_list()
    # MapSet is opaque to Dialyzer: its inside is read through apply/3 on purpose.
    inside = apply(Map, :fetch!, [MapSet.new([0]), :map])

    if inside != %{0 => []} or
         not Enum.all?(fields, fn {_, value} -> is_integer(value) end) do
      raise RuntimeError,
            "Oxbeam.Python does not know how this Elixir version builds a MapSet: " <>
              inspect(MapSet.new([0]), structs: false)
    end

    fields
  end

  defp not_python!(python, output, status) do
    raise ArgumentError,
          "#{python} is not a Python interpreter: asked for its version and site-packages " <>
            "directories, it printed #{inspect(output)} (exit status #{status})"
  end

  @doc """
  Evaluates `code` with `globals` (a map of names, strings or atoms, to Elixir values
  or objects).
  Returns `{result, globals}`: the value of the last expression as an object (`nil`
  if the code ends with a statement) and every global the code ends with, as objects.
  Each eval gets a fresh `__main__` namespace: nothing leaks between evals.

  Options (any other raises `ArgumentError`): `:stdout_device` (default: the group
  leader) and `:stderr_device` (default: `:standard_error`),
  `:binary_as` (`:bytes`, default, `:str` to pass valid UTF-8 binaries as `str`, or
  `:buffer` to pass binaries as read-only `memoryview`s over their bytes, no copy),
  `:timeout` (milliseconds from the call, default `:infinity`): the Python code is
  interrupted with `KeyboardInterrupt` and `Oxbeam.Python.TimeoutError` is raised; if
  the time is up before the code starts (the eval waited for the GIL), the code does
  not run at all. If the calling process dies, its eval is stopped the same way,
  whatever it is doing: an eval still waiting for the GIL never runs its code. The
  interrupt is seen when the Python thread next runs Python code: a call blocked in C
  (`time.sleep`, a blocking read) is interrupted only when it returns.

  `pool: name` evaluates on a worker of the `Oxbeam.Python.Pool` `name` (the one with
  the least outstanding work), with the same options and results: the objects returned
  are remote objects pinned to that worker (see `remote_eval/4`).

  Objects of other nodes (from `remote_eval/4` or a pool) in `globals` are copied here
  first (pickle, see `copy_remote_object/1`).
  """
  @spec eval(String.t(), %{optional(String.t() | atom()) => term()}, keyword()) ::
          {Object.t() | nil, %{optional(String.t()) => Object.t()}}
  def eval(code, globals, opts \\ [])

  @eval_options [:stdout_device, :stderr_device, :binary_as, :timeout, :pool]

  # Without options (the common case): no option parsing on the way.
  def eval(code, globals, []) when is_binary(code) and is_map(globals) do
    stdout = Oxbeam.Python.IoSink.local(Process.group_leader())
    # stderr nil: the NIF looks :standard_error up only when Python writes to stderr
    # (falling back to stdout, the group leader, as standard_error/0 does).
    run_eval(code, globals, stdout, nil, :bytes, nil)
  end

  def eval(code, globals, opts) when is_binary(code) and is_map(globals) and is_list(opts) do
    opts = Keyword.validate!(opts, @eval_options)

    case Keyword.pop(opts, :pool) do
      {nil, opts} -> eval_here(code, globals, opts)
      {pool, opts} -> Oxbeam.Python.Pool.eval(pool, code, globals, opts)
    end
  end

  def eval(code, _globals, _opts) when not is_binary(code),
    do: raise(ArgumentError, "eval: expected the code as a string, got: #{inspect(code)}")

  def eval(_code, globals, _opts) when not is_map(globals) do
    raise ArgumentError,
          "eval: expected the globals as a map of names to values, got: #{inspect(globals)}"
  end

  def eval(_code, _globals, opts),
    do: raise(ArgumentError, "eval: expected options as a keyword list, got: #{inspect(opts)}")

  defp eval_here(code, globals, opts) do
    stdout = Keyword.get_lazy(opts, :stdout_device, &Process.group_leader/0)
    stderr = Keyword.get_lazy(opts, :stderr_device, &standard_error/0)

    timeout =
      case Keyword.get(opts, :timeout, :infinity) do
        :infinity ->
          nil

        ms when is_integer(ms) and ms >= 0 ->
          ms

        other ->
          raise ArgumentError,
                "timeout: expected a non-negative integer or :infinity, got: #{inspect(other)}"
      end

    run_eval(
      code,
      globals,
      # The NIF sends IO requests to local processes; a device on another node (the
      # group leader of an :erpc call or a remote shell) gets a local forwarder.
      Oxbeam.Python.IoSink.local(Oxbeam.Python.IoSink.device!(stdout, :stdout_device)),
      Oxbeam.Python.IoSink.local(Oxbeam.Python.IoSink.device!(stderr, :stderr_device)),
      binary_as(opts),
      timeout
    )
  end

  # One try for every way the NIF call can fail (the common call pays for one).
  defp run_eval(code, globals, stdout, stderr, binary_as, timeout, prepared? \\ false) do
    {result, globals_out} = NIF.eval(code, globals, stdout, stderr, binary_as, timeout)
    {object(result), objects(globals_out)}
  catch
    # The NIF converts plain data in one call and gives up on structs it does not know:
    # only then are the globals walked, each struct encoded with its Encoder.
    :error, :oxbeam_python_needs_encoder when not prepared? ->
      globals = prepare(globals, &Oxbeam.Python.Encoder.encode/2)
      run_eval(code, globals, stdout, stderr, binary_as, timeout, true)

    :error, %Oxbeam.NotLoadedError{} = error ->
      not_loaded!(error, __STACKTRACE__)

    # Objects of other nodes (remote_eval/4, a pool) in the globals are copied here;
    # they are looked for only when the NIF could not take the globals.
    :error, %ArgumentError{} = error ->
      if Oxbeam.Python.Remote.has_remote_object?(globals) do
        globals = Oxbeam.Python.Remote.localize(globals)
        run_eval(code, globals, stdout, stderr, binary_as, timeout, prepared?)
      else
        reraise error, __STACKTRACE__
      end
  end

  # Python's stderr goes to :standard_error, as in Pythonx (the group leader when that
  # process is not running).
  defp standard_error do
    Process.whereis(:standard_error) || Oxbeam.Python.IoSink.local(Process.group_leader())
  end

  @doc """
  Evaluates `code` on `node` (a connected node with `:oxbeam_python` and an initialized
  interpreter), as Pythonx's `remote_eval/4`. Options and results are `eval/3`'s, and
  output goes to the caller's group leader (and `:standard_error`) on this node.

  The result and globals are *remote objects*: `%Oxbeam.Python.Object{}`s whose Python
  object lives on `node` (`node(object.resource)`). `decode/1` and `inspect/1` work on
  them from here; `encode!/2` raises (use `copy_remote_object/1`); passing them in the
  globals of another eval on `node` (or a pool eval on their worker) uses them in
  place, on any other node they are copied. A remote object lives on `node` as long as
  a process on this node holds it: when Erlang frees the last term holding its handle
  on this node (dropped, or every holder exited), `node` lets it go; if this node
  disconnects, `node` lets go of everything it held for it. A handle sent on to a
  third node is valid there only while this node still holds it.

  Objects in `globals` from this node or a third one are copied to `node` with
  `pickle` (`cloudpickle` when the environment has it). If `node` goes down (or is not
  connected), `Oxbeam.Python.RemoteError` is raised; if the calling process dies, the
  eval is stopped as in `eval/3`.
  """
  @spec remote_eval(node(), String.t(), map(), keyword()) ::
          {Object.t() | nil, %{optional(String.t()) => Object.t()}}
  def remote_eval(node, code, globals, opts \\ []),
    do: Oxbeam.Python.Remote.eval(node, code, globals, opts)

  @doc """
  A local copy of a remote object (made with `pickle` on its node, or `cloudpickle`
  when the environment there has it; loaded with `pickle` here). A local object is
  returned as is. An object pickle cannot serialize (a lambda, a class defined in an
  eval, without cloudpickle) raises `ArgumentError` saying so.
  """
  @spec copy_remote_object(Object.t()) :: Object.t()
  def copy_remote_object(%Object{} = object), do: Oxbeam.Python.Remote.copy(object)

  def copy_remote_object(other) do
    raise ArgumentError,
          "copy_remote_object: expected an Oxbeam.Python.Object, got: #{inspect(other)}"
  end

  @doc ~S'''
  Evaluates Python code inline: Elixir variables the code reads are passed as globals,
  and every name the code defines at module level is bound back as an Elixir variable
  (an `Oxbeam.Python.Object`, or `nil` for a branch not taken). Returns the value of
  the last expression (an object, or `nil`).

      import Oxbeam.Python
      x = 1
      ~PY"""
      y = x + 1
      z = y * 10
      """
      Oxbeam.Python.decode(z)  #=> 20

  Multi-letter sigils need Elixir 1.15 or later; on older versions call the macro by
  name: `sigil_PY(<<"y = x + 1">>, [])`. The code is analyzed at compile time with the
  initialized interpreter (else `python3`), with Python's scoping rules: a name is
  read from Elixir when the code reads it before assigning it (`x += 1` reads `x`),
  also from inside functions, but not a function's, lambda's or comprehension's own
  locals; names that are only Python builtins (`len`, `sum`) are never taken from
  Elixir unless the code assigns them too. Defined are the names the code assigns at
  module level, `:=` in comprehensions, `match` captures, imports, functions and
  classes (uppercase names too: `ANSWER = 42` binds `ANSWER`); `except ... as e`
  leaves an Elixir `e` alone.
  '''
  defmacro sigil_PY({:<<>>, _meta, [code]}, modifiers) when is_binary(code) do
    if modifiers != [], do: raise(ArgumentError, "~PY takes no modifiers, got: #{modifiers}")
    {reads, defines} = Oxbeam.Python.Sigil.analyze!(code)

    in_scope =
      for {name, nil} <- Macro.Env.vars(__CALLER__), into: MapSet.new(), do: Atom.to_string(name)

    globals =
      for name <- reads, MapSet.member?(in_scope, name) do
        {name, Macro.var(String.to_atom(name), nil)}
      end

    # Every name is bound, uppercase ones too (`ANSWER`: a variable made by a macro).
    bindings =
      for name <- defines do
        var = Macro.var(String.to_atom(name), nil)

        if String.starts_with?(name, "_") do
          quote do: unquote(var) = Map.get(globals, unquote(name))
        else
          quote do
            unquote(var) = Map.get(globals, unquote(name))
            _ = unquote(var)
          end
        end
      end

    quote do
      {result, globals} = Oxbeam.Python.eval(unquote(code), %{unquote_splicing(globals)})
      unquote_splicing(bindings)
      result
    end
  end

  defmacro sigil_PY(_code, _modifiers) do
    raise ArgumentError, "~PY does not support interpolation: pass values as Elixir variables"
  end

  @doc """
  Converts a Python object to Elixir data (see the table above), the whole value in
  one call. Objects of other types stay `Oxbeam.Python.Object`s. Short immutable
  scalars (`None`, `bool`, 64-bit `int`, `float`, `str`/`bytes` up to 22 bytes) decode
  without taking the GIL.
  """
  @spec decode(Object.t()) :: term()
  def decode(%Object{resource: resource}) when node(resource) == node(), do: NIF.decode(resource)
  def decode(%Object{} = remote), do: Oxbeam.Python.Remote.decode(remote)

  def decode(other),
    do: raise(ArgumentError, "decode: expected an Oxbeam.Python.Object, got: #{inspect(other)}")

  @doc """
  Converts an Elixir value to a Python object, the whole value in one NIF call.
  Structs are encoded with `Oxbeam.Python.Encoder` (or `encoder`, a function
  `(term, encoder) -> object`). Options: `binary_as: :str` or `binary_as: :buffer`
  (see `eval/3`).
  """
  @spec encode!(term(), Oxbeam.Python.Encoder.encoder() | keyword()) :: Object.t()
  def encode!(term, encoder_or_opts \\ [])

  # An object is returned as it is (the same term), as in Pythonx.
  def encode!(%Object{resource: resource} = object, opts)
      when is_list(opts) and node(resource) == node(),
      do: object

  def encode!(%Object{resource: resource}, opts) when is_list(opts) do
    raise ArgumentError,
          "cannot encode a remote Python object (it lives on node #{node(resource)}): " <>
            "call Oxbeam.Python.copy_remote_object/1 first to get a local copy"
  end

  def encode!(term, opts) when is_list(opts) do
    binary_as = binary_as(opts)
    with_encoded_structs(term, &Oxbeam.Python.Encoder.encode/2, &encode_data(&1, binary_as))
  end

  def encode!(term, encoder) when is_function(encoder, 2) do
    case encoder.(term, encoder) do
      %Object{} = object ->
        object

      other ->
        raise ArgumentError,
              "the encoder must return an Oxbeam.Python.Object, got: #{inspect(other)}"
    end
  end

  def encode!(_term, other) do
    raise ArgumentError,
          "encode!: expected options (a keyword list) or an encoder function of arity 2, " <>
            "got: #{inspect(other)}"
  end

  @doc false
  # The Encoder implementation of plain data. With the default encoder: the whole
  # value in one NIF call, with structs inside it encoded by `encoder` first. With a
  # custom encoder (a function given to `encode!/2`), as in Pythonx: `encoder` is
  # applied to each element of a container (it may encode tuples as lists, say), and
  # the container of objects it gives is made in one call.
  def __encode_data__(term, encoder) do
    if encoder == (&Oxbeam.Python.Encoder.encode/2),
      do: with_encoded_structs(term, encoder, &encode_data(&1, :bytes)),
      else: encode_each(term, encoder)
  end

  defp encode_each(list, encoder) when is_list(list),
    do: encode_data(encode_list(list, encoder), :bytes)

  defp encode_each(tuple, encoder) when is_tuple(tuple) do
    tuple
    |> Tuple.to_list()
    |> Enum.map(&encoder.(&1, encoder))
    |> List.to_tuple()
    |> encode_data(:bytes)
  end

  defp encode_each(%MapSet{} = set, encoder),
    do: set |> MapSet.new(&encoder.(&1, encoder)) |> encode_data(:bytes)

  defp encode_each(map, encoder) when is_map(map),
    do:
      map
      |> Map.new(fn {k, v} -> {encoder.(k, encoder), encoder.(v, encoder)} end)
      |> encode_data(:bytes)

  defp encode_each(term, _encoder), do: encode_data(term, :bytes)

  # An improper tail is kept as is: the NIF reports it.
  defp encode_list([head | tail], encoder),
    do: [encoder.(head, encoder) | encode_list(tail, encoder)]

  defp encode_list(tail, _encoder), do: tail

  defp encode_data(term, binary_as) do
    %Object{resource: NIF.encode(term, binary_as)}
  rescue
    error in Oxbeam.NotLoadedError -> not_loaded!(error, __STACKTRACE__)
  end

  # The NIFs return bare resources; the struct is cheaper to build here.
  defp object(nil), do: nil
  defp object(resource), do: %Object{resource: resource}

  defp objects(globals) when map_size(globals) == 0, do: globals
  defp objects(globals), do: :maps.map(fn _name, resource -> object(resource) end, globals)

  # The NIF converts plain data in one call and gives up on structs it does not know
  # (raising :oxbeam_python_needs_encoder): only then is the value walked here, each
  # struct encoded with `encoder`, and the NIF called again.
  defp with_encoded_structs(value, encoder, call) do
    call.(value)
  catch
    :error, :oxbeam_python_needs_encoder -> call.(prepare(value, encoder))
    :error, %Oxbeam.NotLoadedError{} = error -> not_loaded!(error, __STACKTRACE__)
  end

  # The bridge's NIF library loads at init (after the chosen libpython): before that,
  # its functions say so.
  defp not_loaded!(error, stacktrace) do
    if :persistent_term.get({__MODULE__, :libpython}, nil) == nil do
      raise RuntimeError,
            "Python interpreter is not initialized: call Oxbeam.Python.uv_init/2 or " <>
              "Oxbeam.Python.init/1 first"
    else
      reraise error, stacktrace
    end
  end

  defp binary_as(opts) do
    case Keyword.get(opts, :binary_as, :bytes) do
      binary_as when binary_as in [:bytes, :str, :buffer] ->
        binary_as

      other ->
        raise ArgumentError,
              "binary_as: expected :bytes, :str or :buffer, got: #{inspect(other)}"
    end
  end

  # Structs other than objects and MapSets go through the Encoder protocol (each gives
  # an object); everything else is converted by the NIF in one call.
  defp prepare(%Object{} = object, _encoder), do: object

  # Not a struct for Elixir (is_struct/1 is false), but the NIF takes any map with a
  # :__struct__ key for one.
  defp prepare(%{__struct__: name} = map, _encoder) when not is_atom(name) do
    raise ArgumentError,
          "cannot encode #{inspect(map)}: its :__struct__ key is #{inspect(name)}, not a " <>
            "module name (a map with a :__struct__ key is taken for a struct)"
  end

  defp prepare(%MapSet{} = set, encoder), do: MapSet.new(set, &prepare(&1, encoder))

  defp prepare(%_{} = struct, encoder) do
    case encoder.(struct, encoder) do
      %Object{} = object ->
        object

      other ->
        raise ArgumentError,
              "the encoder for #{inspect(struct.__struct__)} must return an Oxbeam.Python.Object, got: #{inspect(other)}"
    end
  end

  defp prepare(map, encoder) when is_map(map),
    do: Map.new(map, fn {k, v} -> {prepare(k, encoder), prepare(v, encoder)} end)

  defp prepare(list, encoder) when is_list(list), do: prepare_list(list, encoder)

  defp prepare(tuple, encoder) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> Enum.map(&prepare(&1, encoder)) |> List.to_tuple()

  # A bitstring that is not a binary: the Encoder raises Protocol.UndefinedError.
  defp prepare(bits, encoder) when is_bitstring(bits) and not is_binary(bits),
    do: encoder.(bits, encoder)

  defp prepare(other, _encoder), do: other

  defp prepare_list([], _encoder), do: []

  defp prepare_list([head | tail], encoder),
    do: [prepare(head, encoder) | prepare_list(tail, encoder)]

  # An improper tail: kept as is, the NIF reports it.
  defp prepare_list(tail, encoder), do: prepare(tail, encoder)
end

defimpl Oxbeam.Python.Encoder, for: [Integer, Float, Atom, List, Map, Tuple, MapSet, PID] do
  def encode(term, encoder), do: Oxbeam.Python.__encode_data__(term, encoder)
end

defimpl Oxbeam.Python.Encoder, for: BitString do
  def encode(binary, encoder) when is_binary(binary),
    do: Oxbeam.Python.__encode_data__(binary, encoder)

  def encode(bits, _encoder) do
    raise Protocol.UndefinedError,
      protocol: @protocol,
      value: bits,
      description: "cannot encode a bitstring as a Python object"
  end
end

defimpl Oxbeam.Python.Encoder, for: Oxbeam.Python.Array do
  def encode(array, _encoder), do: Oxbeam.Python.encode!(array)
end

defimpl Oxbeam.Python.Encoder, for: Oxbeam.Python.Object do
  def encode(object, _encoder), do: object
end

defimpl Oxbeam.Python.Encoder, for: Any do
  def encode(struct, _encoder) do
    raise Protocol.UndefinedError,
      protocol: Oxbeam.Python.Encoder,
      value: struct,
      description:
        "implement Oxbeam.Python.Encoder for #{inspect(struct.__struct__)} to pass it to Python"
  end
end
