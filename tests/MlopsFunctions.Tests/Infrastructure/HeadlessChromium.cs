using System.Drawing;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Xunit.Sdk;

namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>
/// A real headless Chromium from the Debian packages (chromium, chromium-driver), driven by Selenium through the
/// packaged chromedriver: no browser download at test time, and no background traffic the closed network would refuse.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    public const string InstallCommand = "apt-get install -y chromium chromium-driver";

    private readonly string profile;
    private readonly List<string> log = [];

    private HeadlessChromium(ChromeDriver driver, string profile)
    {
        Driver = driver;
        this.profile = profile;
    }

    public ChromeDriver Driver { get; }

    /// <summary>The browser binary (CHROMIUM_PATH overrides the Debian location).</summary>
    public static string BrowserPath => Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>The driver binary (CHROMEDRIVER_PATH overrides the Debian location).</summary>
    public static string DriverPath => Environment.GetEnvironmentVariable("CHROMEDRIVER_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromedriver";

    /// <summary>Starts a fresh browser (new profile) at the given window size; fails with the install command when the packages are missing.</summary>
    public static HeadlessChromium Start(int width = 1280, int height = 900)
    {
        var missing = new[] { BrowserPath, DriverPath }.Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
        {
            throw new XunitException(
                $"The browser test needs Chromium and its driver, and {string.Join(" and ", missing)} {(missing.Count == 1 ? "is" : "are")} missing. " +
                $"Install them with: sudo {InstallCommand} (scripts/test.sh does this when it runs as root).");
        }

        var profile = Directory.CreateTempSubdirectory("mlops-chromium-").FullName;
        var options = new ChromeOptions { BinaryLocation = BrowserPath };
        options.AddArguments(
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
            $"--window-size={width},{height}");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);

        // The packaged driver, named explicitly, so Selenium Manager never tries to download one.
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        try
        {
            return new HeadlessChromium(new ChromeDriver(service, options, TimeSpan.FromSeconds(90)), profile);
        }
        catch
        {
            service.Dispose();
            Directory.Delete(profile, recursive: true);
            throw;
        }
    }

    /// <summary>Resizes the window to the width and the page's full height, then saves a PNG of the whole page.</summary>
    public string SaveFullPageScreenshot(string path, int width)
    {
        Driver.Manage().Window.Size = new Size(width, 900);
        Thread.Sleep(500); // the page re-draws its chart for the new width (debounced resize handler)
        var height = Convert.ToInt32(Driver.ExecuteScript("return Math.ceil(document.documentElement.scrollHeight);"), System.Globalization.CultureInfo.InvariantCulture);
        Driver.Manage().Window.Size = new Size(width, Math.Clamp(height, 600, 12000));
        Thread.Sleep(300);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Driver.GetScreenshot().SaveAsFile(path);
        return path;
    }

    /// <summary>Polls the page until the condition holds; fails with what the page showed last.</summary>
    public T WaitFor<T>(Func<IWebDriver, T?> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var value = condition(Driver);
                if (value is not null && !Equals(value, false))
                {
                    return value;
                }
            }
            catch (Exception ex) when (ex is WebDriverException or InvalidOperationException or FormatException)
            {
                last = ex;
            }

            Thread.Sleep(200);
        }

        var error = TryText("#error:not([hidden]) #error-text");
        throw new XunitException($"The dashboard never showed {what}.{(error is null ? string.Empty : $" Its error banner says: {error}")}" +
            $"{(last is null ? string.Empty : $" Last exception: {last.Message}")}\nBrowser log:\n{string.Join('\n', BrowserLog())}");
    }

    public string? TryText(string css)
    {
        var found = Driver.FindElements(By.CssSelector(css));
        return found.Count > 0 ? found[0].Text : null;
    }

    /// <summary>Every console and network message the page produced so far (the driver hands each out once, so they are kept here).</summary>
    public IReadOnlyList<string> BrowserLog()
    {
        try
        {
            log.AddRange(Driver.Manage().Logs.GetLog(LogType.Browser).Select(e => $"{e.Level}: {e.Message}"));
        }
        catch (WebDriverException)
        {
            // The log is a diagnostic; a driver that cannot give it must not hide the real failure.
        }

        return log.ToList();
    }

    public void Dispose()
    {
        try
        {
            Driver.Quit();
        }
        finally
        {
            Driver.Dispose();
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
                // Chromium may still be closing a file in its profile; the folder is in the temp directory anyway.
            }
        }
    }
}
