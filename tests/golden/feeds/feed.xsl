<?xml version="1.0" encoding="UTF-8"?>
<!-- How a browser shows an Atom or RSS feed of China Bystander that someone opens as a
     page. Feed readers never read this: what they parse is the feed itself. -->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  exclude-result-prefixes="atom">
<xsl:output method="html" encoding="UTF-8" doctype-system="about:legacy-compat" indent="no"/>
<xsl:variable name="title" select="atom:feed/atom:title | rss/channel/title"/>
<xsl:variable name="self" select="atom:feed/atom:link[@rel='self']/@href | rss/channel/atom:link[@rel='self']/@href"/>
<xsl:variable name="home" select="atom:feed/atom:link[@rel='alternate']/@href | rss/channel/link"/>
<xsl:template match="/">
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<meta name="robots" content="noindex"/>
<title><xsl:value-of select="$title"/> (feed)</title>
<link rel="stylesheet" href="/style.css"/>
</head>
<body>
<header class="masthead">
  <p class="site-title"><a href="/">China Bystander</a></p>
  <nav aria-label="Site">
    <a href="/">Home</a>
    <a href="/newsletter/">Weekly digest</a>
    <a href="/feeds/">Feeds</a>
    <a href="/subscribe">Subscribe</a>
  </nav>
</header>
<main id="main">
<section class="feed-about" aria-labelledby="feed-heading">
  <h1 id="feed-heading"><xsl:value-of select="$title"/></h1>
  <p><strong>This is a web feed.</strong> Feed readers (NetNewsWire, Feedly, Inoreader, Thunderbird and many more) follow it and show each new post as it is published. To follow it, copy its address into your reader:</p>
  <p><label for="feed-address">Feed address</label><br/>
  <input id="feed-address" class="feed-address" type="url" readonly="readonly" value="{$self}"/></p>
  <p><a href="{$home}">Read on the site</a> · <a href="/feeds/">Every feed, by category</a> · <a href="/subscribe">The weekly digest by email</a></p>
</section>
<section aria-labelledby="latest-heading">
  <h2 id="latest-heading">Latest in this feed</h2>
  <xsl:for-each select="atom:feed/atom:entry | rss/channel/item">
  <article class="entry">
    <h3><a href="{atom:link[@rel='alternate']/@href | link}"><xsl:value-of select="atom:title | title"/></a></h3>
    <p class="meta"><xsl:value-of select="substring(atom:published, 1, 10)"/><xsl:value-of select="substring(pubDate, 1, 16)"/></p>
    <p><xsl:value-of select="atom:summary | description"/></p>
  </article>
  </xsl:for-each>
</section>
</main>
<footer class="site-footer">
  <p>© The Bystander · <a href="/feeds/">Feeds</a></p>
</footer>
</body>
</html>
</xsl:template>
</xsl:stylesheet>
