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

  test "signal.alarm and signal.setitimer are refused (SIGALRM would kill the VM)" do
    {output, status} =
      HazardChild.run(
        ~S"""
        for call <- ["signal.alarm(1)", "signal.setitimer(signal.ITIMER_REAL, 0.5)"] do
          {result, _} =
            Oxbeam.Python.eval(
              "import signal\ntry:\n    #{call}\nexcept ValueError as e:\n    message = str(e)\nmessage",
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
                "\nsignal.setitimer() " <> @signal_refused <> "\nstill running\n", 0}
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

          run.(
            "import multiprocessing\nctx = multiprocessing.get_context(#{context})\n" <>
              "with ctx.Pool(2) as pool:\n    result = (ctx.get_start_method(), pool.map(abs, [-1, -2, -3]), pool.apply(eval, ('__import__(\"sys\").executable',)))\nresult"
          )
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
end
