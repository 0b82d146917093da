defmodule Oxbeam.Python.HazardsTest do
  # Process-level hazards of an interpreter embedded in the VM (issue 10, items 15
  # and 16). Each case runs in a child VM with a time limit: before the fixes they
  # changed how the VM reacts to SIGTERM, left a deadlocked copy of the VM holding its
  # stdout, or swapped the bridge's library image under its own threads.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.HazardChild

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  @signal_refused "is not available in Oxbeam.Python: the BEAM owns this OS process's " <>
                    "signals, and a Python handler or timer would change how the whole VM " <>
                    "reacts to them; handle OS signals in Elixir (:os.set_signal/2)"

  test "signal.signal cannot replace the VM's SIGTERM handling" do
    # One dirty I/O scheduler: the eval runs on the thread that initialized Python,
    # where CPython itself would allow signal.signal.
    {output, status} =
      HazardChild.run(
        ~S"""
        {result, _} =
          Oxbeam.Python.eval(
            "import signal\ntry:\n    signal.signal(signal.SIGTERM, lambda *args: None)\nexcept ValueError as e:\n    message = str(e)\nmessage",
            %{}
          )

        IO.puts("refused: " <> Oxbeam.Python.decode(result))
        System.cmd("kill", ["-TERM", System.pid()])
        Process.sleep(10_000)
        IO.puts("SIGTERM was ignored")
        """,
        erl: "+SDio 1",
        timeout: 40
      )

    assert status == 0, output
    assert output =~ "refused: signal.signal() " <> @signal_refused <> "\n"
    assert output =~ "SIGTERM received - shutting down"
    refute output =~ "SIGTERM was ignored"
  end

  test "signal.alarm, signal.setitimer and faulthandler.register are refused (SIGALRM would kill the VM)" do
    {output, status} =
      HazardChild.run(
        ~S"""
        for call <- [
              "signal.alarm(1)",
              "signal.setitimer(signal.ITIMER_REAL, 0.5)",
              "faulthandler.register(signal.SIGTERM, file=2)"
            ] do
          {result, _} =
            Oxbeam.Python.eval(
              "import faulthandler, signal\ntry:\n    #{call}\nexcept ValueError as e:\n    message = str(e)\nmessage",
              %{}
            )

          IO.puts(Oxbeam.Python.decode(result))
        end

        Process.sleep(2_000)
        IO.puts("still running")
        """,
        timeout: 40
      )

    assert {output, status} ==
             {"signal.alarm() " <>
                @signal_refused <>
                "\nsignal.setitimer() " <>
                @signal_refused <>
                "\nfaulthandler.register() " <> @signal_refused <> "\nstill running\n", 0}
  end

  @tag timeout: 150_000
  test "os.fork raises a clear error; subprocess and multiprocessing still work" do
    {output, status} =
      HazardChild.run(
        ~S"""
        run = fn code ->
          {result, _} = Oxbeam.Python.eval(code, %{})
          IO.inspect(Oxbeam.Python.decode(result), width: :infinity)
        end

        for call <- ["os.fork()", "os.forkpty()", "pty.fork()"] do
          run.("import os, pty\ntry:\n    #{call}\nexcept RuntimeError as e:\n    message = str(e)\nmessage")
        end

        run.("import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True).stdout")

        for method <- [nil, "spawn", "forkserver"] do
          context = if method, do: "'#{method}'", else: "None"

          # In a function, with the pool joined and collected: its semaphores are
          # released before the VM exits (or the resource tracker warns about them).
          run.(~s'''
          import gc, multiprocessing
          def run():
              ctx = multiprocessing.get_context(#{context})
              with ctx.Pool(2) as pool:
                  result = (ctx.get_start_method(), pool.map(abs, [-1, -2, -3]),
                            pool.apply(eval, ('__import__("sys").executable',)))
              pool.join()
              return result
          result = run()
          gc.collect()
          result
          ''')
        end
        """,
        timeout: 90
      )

    python = HazardChild.python()

    fork_refused =
      "is not available in Oxbeam.Python: the child would be a copy of the whole BEAM " <>
        "with only this thread, which deadlocks (and holds the VM's stdout); use subprocess, " <>
        "or multiprocessing (its default start method here is 'forkserver'; 'spawn' works too)"

    assert {output, status} ==
             {~s|"os.fork() #{fork_refused}"\n| <>
                ~s|"os.forkpty() #{fork_refused}"\n| <>
                ~s|"os.forkpty() #{fork_refused}"\n| <>
                ~s|"42\\n"\n| <>
                ~s|{"forkserver", [1, 2, 3], "#{python}"}\n| <>
                ~s|{"spawn", [1, 2, 3], "#{python}"}\n| <>
                ~s|{"forkserver", [1, 2, 3], "#{python}"}\n|, 0}
  end

  test "a hot upgrade of the bridge's library is refused; purging the old code leaves its image in place" do
    # A real upgrade: Oxbeam.Python.NIF is reloaded with a copy of its library (dlopen
    # maps it anew), the way `use Oxbeam` loads it. Python runs in the old image: its
    # interrupt and decref threads, and a Python thread that calls back into it.
    {output, status} =
      HazardChild.run(
        ~S"""
        module = Oxbeam.Python.NIF
        {_, _} = Oxbeam.Python.eval("1", %{}, timeout: 5_000)
        Oxbeam.Python.encode!([1, 2])
        :erlang.garbage_collect()

        Oxbeam.Python.eval(
          "import threading, time\ndef tick():\n    for i in range(20):\n        print('tick', i)\n        time.sleep(0.1)\nthreading.Thread(target=tick).start()",
          %{}
        )

        [library] = Path.wildcard(Path.join(:code.priv_dir(:oxbeam_python), "native/liboxbeam_python-*.so"))
        copy = Path.join(System.tmp_dir!(), "liboxbeam_python-upgrade-#{System.pid()}.so")
        File.cp!(library, copy)
        path = copy |> Path.rootname() |> String.to_charlist()

        stubs = Oxbeam.Test.NifStubs.stubs(module)

        ast =
          quote do
            defmodule unquote(module) do
              @on_load :__load__
              def __load__, do: Oxbeam.__loaded__(__MODULE__, :erlang.load_nif(unquote(path), 0))
              unquote_splicing(stubs)
            end
          end

        Code.put_compiler_option(:ignore_module_conflict, true)
        Code.compile_quoted(ast)
        File.rm!(copy)
        IO.puts("load_error: #{inspect(Oxbeam.load_error(module))}")

        # The old code, and with it the old library image, goes.
        Process.sleep(300)
        IO.puts("purged: #{:code.purge(module)}")
        Process.sleep(2_500)
        mapped = File.read!("/proc/self/maps") =~ library
        IO.puts("the original image is still mapped: #{mapped}")
        IO.puts("the VM is still running")
        """,
        timeout: 45
      )

    assert status == 0, output
    assert output =~ ~r/load_error: ".*upgrade/

    assert output =~
             "Oxbeam.Python's NIF library cannot be loaded again into a VM where it already " <>
               "started Python (a hot code upgrade or reload of Oxbeam.Python.NIF): the " <>
               "interpreter's threads and Python types live in the library image that started " <>
               "it, which stays loaded; restart the VM to use the new library"

    assert output =~ "purged: "
    assert output =~ "tick 19\n"
    assert output =~ "the original image is still mapped: true\n"
    assert output =~ "the VM is still running\n"
  end

  test "a native crash in a C extension still takes the VM down (documented: use an isolated backend)" do
    {output, status} =
      HazardChild.run(
        ~S"""
        IO.puts("before")
        # (On Elixir 1.15+ the VM's stdout writer may not have written yet.)
        Process.sleep(300)
        Oxbeam.Python.eval("import ctypes\nctypes.string_at(0)", %{})
        IO.puts("after")
        """,
        timeout: 40
      )

    # 139 = 128 + SIGSEGV, as timeout(1) reports a child killed by a signal.
    assert {status, output =~ "after"} == {139, false}
    assert output =~ "before\n"
  end
end
