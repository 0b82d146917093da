defmodule Oxbeam.NIF.UpgradeLayoutTest do
  # Hot upgrade of a library whose resource types change layout (tests/upgrade_layout,
  # version 1, upgraded to tests/upgrade_layout_v2, version 2). A resource type is
  # taken over only when its layout fingerprint (size, alignment, Rust type name,
  # #[oxbeam::resource(version = N)]) is the same in both versions; otherwise both
  # types live on, each object is dropped by the code that made it, and the old
  # library stays loaded until its last object is gone.
  #
  # The upgrade runs in a child VM: a library unloaded too early would crash that VM,
  # not this one, and what oxbeam logs there is in its output.
  use ExUnit.Case, async: true

  @moduletag :tmp_dir
  @moduletag timeout: 600_000

  # Run by the child VM, with the version 2 library and the log file in its environment.
  @scenario ~S"""
  defmodule Scenario do
    alias Oxbeam.Test.UpgradeLayout, as: NIF

    def main(library, log) do
      parent = self()

      # Version 1's objects, held by a process that runs calls on them until released.
      holder =
        spawn(fn ->
          objects = {NIF.same_new(1), NIF.grown_new(2), NIF.versioned_new(3), NIF.retyped_new(7)}
          send(parent, :holding)
          hold(objects)
        end)

      receive(do: (:holding -> :ok))
      result("before", on(holder, &read/1))

      :ok = Oxbeam.Test.NifStubs.reload(NIF, library)
      result("version", NIF.version())
      result("after", on(holder, &read/1))
      # Version 2's own objects, dropped when the task exits.
      result("new", Task.await(Task.async(fn ->
        {NIF.same_get(NIF.same_new(4)), NIF.grown_get(NIF.grown_new(5)),
         NIF.versioned_get(NIF.versioned_new(6))}
      end)))

      # Purging the old code leaves version 1's library loaded: its types still
      # have objects, whose destructor is version 1's code.
      result("purged", :code.soft_purge(NIF))
      :erlang.garbage_collect()
      for n <- ["Same 4", "Grown 5", "Versioned 6"], do: wait_for(log, "v2 dropped " <> n)
      result("v1 unloaded while its objects live", unloaded?(log))

      ref = Process.monitor(holder)
      send(holder, :release)
      receive(do: ({:DOWN, ^ref, _, _, _} -> :ok))
      # Destructors run in no promised order: wait for the taken-over one too.
      wait_for(log, "v1 unloaded")
      wait_for(log, "v2 dropped Same 1")
      result("log", File.read!(log) |> String.split("\n", trim: true))
    end

    defp read({same, grown, versioned, retyped}) do
      {NIF.version(), attempt(fn -> NIF.same_get(same) end),
       attempt(fn -> NIF.grown_get(grown) end), attempt(fn -> NIF.versioned_get(versioned) end),
       attempt(fn -> NIF.retyped_get(retyped) end)}
    end

    defp attempt(fun) do
      fun.()
    rescue
      e -> {:error, Exception.message(e)}
    end

    defp hold(objects) do
      receive do
        {:run, from, fun} ->
          send(from, {:ran, fun.(objects)})
          hold(objects)

        :release ->
          :ok
      end
    end

    defp on(holder, fun) do
      send(holder, {:run, self(), fun})
      receive(do: ({:ran, value} -> value))
    end

    defp unloaded?(log), do: File.read!(log) =~ "v1 unloaded"

    defp wait_for(log, line, tries \\ 3000) do
      cond do
        File.exists?(log) and File.read!(log) =~ line -> :ok
        tries == 0 -> raise "#{line} never came in #{inspect(File.read(log))}"
        true -> Process.sleep(10); wait_for(log, line, tries - 1)
      end
    end

    defp result(name, value), do: IO.puts("RESULT #{name}: #{inspect(value)}")
  end

  Scenario.main(System.fetch_env!("UPGRADE_LIBRARY"), System.fetch_env!("OXBEAM_TEST_DROP_LOG"))
  """

  test "a resource type is taken over only when its layout is the same", %{tmp_dir: tmp_dir} do
    library = build_version_2!(tmp_dir)
    log = Path.join(tmp_dir, "drops.log")

    {output, status} =
      Oxbeam.Test.NifChild.run(@scenario,
        timeout_s: 120,
        env: [{"UPGRADE_LIBRARY", library}, {"OXBEAM_TEST_DROP_LOG", log}]
      )

    assert status == 0, output
    lines = String.split(output, "\n", trim: true)
    # Term::inspect prints references in full, as Kernel.inspect/1 does: their numbers
    # vary from run to run.
    results =
      for "RESULT " <> result <- lines,
          do: Regex.replace(~r/#Reference<[0-9.]+>/, result, "#Reference<...>")

    # What the VM's logger printed (Elixir's console: `<time> [error] <message>`).
    logged =
      for line <- lines, [_, message] <- [Regex.run(~r/\[error\] (.*)$/, line)], do: message

    refused = fn type ->
      name = String.capitalize(type)

      {:error,
       "Oxbeam.Test.UpgradeLayout.#{type}_get/1: argument 1 (#{type}): " <>
         "expected a #{name} resource (ResourceArc<#{name}>), got: #Reference<...>"}
    end

    assert Enum.take(results, 4) == [
             ~s|before: {"v1", 1, 2, 3, 7}|,
             ~s|version: "v2"|,
             # Same was taken over; Grown (another size), Versioned (another version)
             # and Retyped (another field type) were not: version 2's functions
             # refuse their old objects.
             "after: " <>
               inspect({"v2", 1, refused.("grown"), refused.("versioned"), refused.("retyped")}),
             "new: {4, 1005, 6}"
           ]

    assert Enum.drop(results, 4) |> Enum.take(2) == [
             "purged: true",
             "v1 unloaded while its objects live: false"
           ]

    ["log: " <> log_lines] = Enum.drop(results, 6)
    {log_lines, _} = Code.eval_string(log_lines)

    # Each object was dropped by the code that made it; version 1's library was
    # unloaded only after its last object.
    assert Enum.sort(log_lines) ==
             Enum.sort([
               "v2 dropped Same 4",
               "v2 dropped Grown 5",
               "v2 dropped Versioned 6",
               "v2 dropped Same 1",
               "v1 dropped Grown 2",
               "v1 dropped Versioned 3",
               "v1 dropped Retyped 7",
               "v1 unloaded"
             ])

    v1_lines = Enum.filter(log_lines, &String.starts_with?(&1, "v1 "))
    assert List.last(v1_lines) == "v1 unloaded"

    # What oxbeam logged about the types it did not take over.
    assert Enum.sort(logged) == [
             layout_message("Grown", 16, 8, 0),
             layout_message("Retyped", 8, 8, 0),
             layout_message("Versioned", 8, 8, 2)
           ]
  end

  defp layout_message(type, size, align, version) do
    "oxbeam: Oxbeam.Test.UpgradeLayout: hot upgrade: the resource type #{type} " <>
      "changed (now size #{size}, align #{align}, version #{version}), so its existing " <>
      "objects are not taken over: they keep the old library's type and Drop, the old " <>
      "library stays loaded until the last of them is gone, and this library's " <>
      "functions refuse them"
  end

  # Builds version 2 (the feature v2) in the mode version 1 was built in, and copies it
  # to a fresh path. The crate name, hence the resource type names, stay the same.
  defp build_version_2!(tmp_dir) do
    manifest = Path.expand("../tests/upgrade_layout/Cargo.toml", File.cwd!())
    cargo = System.find_executable("cargo") || Path.expand("~/.cargo/bin/cargo")

    args =
      ["build", "--manifest-path", manifest, "--features", "v2"] ++
        ["--message-format=json-render-diagnostics"] ++
        if Oxbeam.Build.default_mode() == :release, do: ["--release"], else: []

    {output, status} = System.cmd("timeout", ["400", cargo | args], stderr_to_stdout: true)
    assert status == 0, output
    json = output |> String.split("\n") |> Enum.filter(&String.starts_with?(&1, "{\"reason\":"))
    artifact = Oxbeam.Build.find_artifact(json, "oxbeam_upgrade_layout", manifest)
    copy = Path.join(tmp_dir, "liboxbeam_upgrade_layout_v2.so")
    File.cp!(artifact, copy)
    copy
  end
end
