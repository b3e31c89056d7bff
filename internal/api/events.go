package api

import "github.com/gin-gonic/gin"

// mountEvents registers its area's routes (being written).
func (a *API) mountEvents(g *gin.RouterGroup) {}
