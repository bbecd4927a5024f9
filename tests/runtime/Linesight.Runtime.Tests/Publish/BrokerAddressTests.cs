using Linesight.Errors;
using Linesight.Publish.Mqtt;

namespace Linesight.Runtime.Tests.Publish;

public sealed class BrokerAddressTests
{
    [Theory]
    [InlineData("mqtt://10.0.0.5", "10.0.0.5", 1883, false)]
    [InlineData("mqtt://broker.plant.local:1884", "broker.plant.local", 1884, false)]
    [InlineData("mqtts://broker:8883", "broker", 8883, true)]
    [InlineData("mqtts://broker", "broker", 8883, true)]
    public void Parses_broker_urls(string url, string host, int port, bool tls)
        => Assert.Equal(new BrokerAddress(host, port, tls), BrokerAddress.Parse(url, "--broker"));

    [Theory]
    [InlineData("localhost:1883", "not a broker URL")]
    [InlineData("http://broker", "scheme 'http'")]
    [InlineData("mqtt://user:secret@broker", "credentials never go in the URL")]
    [InlineData("mqtt://broker/topic", "only scheme, host and port")]
    [InlineData("", "not a broker URL")]
    public void Rejects_what_is_not_a_broker_url(string url, string reason)
    {
        var e = Assert.Throws<ConfigurationException>(() => BrokerAddress.Parse(url, "--broker"));
        Assert.StartsWith("--broker: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("line+1")]
    [InlineData("line#")]
    [InlineData("line/1")]
    [InlineData("")]
    public void Topic_levels_refuse_wildcards_separators_and_empties(string line)
        => Assert.Throws<ConfigurationException>(() => new TopicLayout("p", "s", line, "d"));
}
