using Ohem.Onnx.Scoring;
using Ohem.Service.Jobs;

namespace Ohem.Service.Tests;

public class JobRegistryTests
{
    [Fact]
    public void Registers_gets_replaces_and_deletes_jobs()
    {
        using var registry = TestJobs.Registry();
        var job = registry.Register("detector-a", TestJobs.Model(), null, replace: false);
        Assert.Equal(3, job.Model.NumClasses);
        Assert.Same(job, registry.Get("detector-a"));

        Assert.Contains("already registered", Assert.Throws<JobExistsException>(() => registry.Register("detector-a", TestJobs.Model(), null, false)).Message);
        job.Weights.Install(1, TestJobs.Weights(1));
        var replaced = registry.Register("detector-a", TestJobs.Model(), 3, replace: true);
        Assert.NotSame(job, replaced);
        Assert.Empty(replaced.Weights.Held); // a new registration starts without versions

        registry.Delete("detector-a");
        Assert.Contains("not registered", Assert.Throws<JobNotFoundException>(() => registry.Get("detector-a")).Message);
        Assert.Throws<JobNotFoundException>(() => registry.Delete("detector-a"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("slash/y")]
    [InlineData("ok\n")] // was accepted: $ matched before the final newline
    [InlineData("\nok")]
    [InlineData("ok\r\n")]
    public void Malformed_job_ids_are_rejected_naming_the_field(string id) =>
        Assert.Contains("job_id", Assert.Throws<ArgumentException>(() => TestJobs.Registry().Register(id, TestJobs.Model(), null, false)).Message);

    [Fact]
    public void A_status_message_quoting_a_huge_job_id_is_cut_to_fit_a_response_header()
    {
        var id = new string('x', 20_000);
        var e = Assert.Throws<ArgumentException>(() => TestJobs.Registry().Register(id, TestJobs.Model(), null, false));
        var message = MinerErrors.Message(e);
        Assert.True(message.Length <= MinerErrors.MaxMessageLength, $"{message.Length} characters");
        Assert.StartsWith("job_id \"xxx", message, StringComparison.Ordinal);
        Assert.EndsWith($"({e.Message.Length - $" (Parameter '{e.ParamName}')".Length} characters)", message, StringComparison.Ordinal);
        Assert.Equal("job_id \"a b\" is not valid; expected 1 to 128 letters, digits, '.', '_' or '-'.",
            MinerErrors.Message(Assert.Throws<ArgumentException>(() => TestJobs.Registry().Register("a b", TestJobs.Model(), null, false))));
    }

    [Fact]
    public void A_model_that_breaks_the_contract_registers_nothing()
    {
        using var registry = TestJobs.Registry();
        Assert.Throws<InvalidModelException>(() => registry.Register("bad", [1, 2, 3], null, false));
        Assert.Empty(registry.Jobs);
    }
}
